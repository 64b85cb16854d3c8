"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from graph.db import DatabaseNotMigrated, create_engine, ensure_migrated, migrate, pending_migrations
from graph.settings import Settings
from models import Base


def not_a_telemetry_partition(obj, name, type_, reflected, compare_to) -> bool:
    """On PostgreSQL telemetry_point is partitioned (migration 0009): its day partitions and its default
    partition are made at run time and have no model; only those are ignored."""
    if type_ == "table" and reflected and compare_to is None and name is not None:
        return not (name == "telemetry_point_default" or re.fullmatch(r"telemetry_point_p\d{8}", name))
    return True


async def test_migrated_database_matches_the_models(runtime):
    def differences(connection):
        opts = {"compare_type": True, "include_object": not_a_telemetry_partition}
        return compare_metadata(MigrationContext.configure(connection, opts=opts), Base.metadata)

    async with runtime.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
    assert await pending_migrations(runtime.engine) == []


async def test_unmigrated_database_is_detected(tmp_path):
    engine = create_engine(Settings(data_dir=tmp_path))
    try:
        try:
            await ensure_migrated(engine)
        except DatabaseNotMigrated as error:
            assert "fleetgraph migrate" in str(error)
        else:
            raise AssertionError("an empty database passed as migrated")
        await migrate(engine)
        await ensure_migrated(engine)
    finally:
        await engine.dispose()


async def test_upgrading_a_database_with_rows_keeps_every_reference(tmp_path):
    """SQLite (a file of its own): migrations after 0018 rebuild organisation, app_user and router in batch mode.
    With foreign keys on, dropping the old table would fail or cascade (tokens' and roles' users, locations'
    routers); graph.db.migrate turns them off meanwhile and checks them before commit."""
    from sqlalchemy import text

    engine = create_engine(Settings(data_dir=tmp_path))
    statements = [
        "INSERT INTO organisation (id, public_id, name, your_reference, can_create_organisations, path, "
        "password_min_length, password_history, require_two_factor, created_at) "
        "VALUES (1, 'uuid-1', 'Water works', '', false, '/1/', 12, 3, false, CURRENT_TIMESTAMP)",
        "INSERT INTO app_user (id, organisation_id, email, name, language, csv_delimiter, csv_thousands_separator, "
        "is_active, require_two_factor, totp_confirmed, totp_last_step, created_at) "
        "VALUES (1, 1, 'a@example.com', 'A', 'en', ';', '', true, false, false, 0, CURRENT_TIMESTAMP)",
        "INSERT INTO user_role (user_id, role) VALUES (1, 'ORGANISATION_ADMIN')",
        "INSERT INTO router (id, common_name, mac_address, serial_number, model, firmware, organisation_id, online, "
        "state_changed_at, created_at) VALUES (1, 'R_1', 'AA:BB:CC:DD:EE:FF', 'S1', '', '', 1, false, "
        "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
        "INSERT INTO location (id, organisation_id, name, router_id, created_at) "
        "VALUES (1, 1, 'Plant', 1, CURRENT_TIMESTAMP)",
    ]
    try:
        await migrate(engine, "0018")
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
        await migrate(engine)
        async with engine.connect() as connection:
            kept = (
                await connection.execute(
                    text(
                        "SELECT (SELECT role FROM user_role WHERE user_id = 1), "
                        "(SELECT router_id FROM location WHERE id = 1), "
                        "(SELECT length(customer_number) FROM organisation WHERE id = 1)"
                    )
                )
            ).one()
            foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar_one()
    finally:
        await engine.dispose()
    assert tuple(kept) == ("ORGANISATION_ADMIN", 1, 8)
    assert foreign_keys == 1  # on again for the connection's next user
