"""Migration 0016 (meter readings) loses no telemetry: a database holding a location's points (on PostgreSQL in a
day partition and in the default partition) goes from 0015 to 0016 and back with every point, on SQLite (where
the usual table rebuild would CASCADE-delete them under PRAGMA foreign_keys=ON) and on PostgreSQL (in a schema
of its own). Downgrading drops only the meters' series and points, which 0015 has no place for."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from graph.db import ENGINE_OPTIONS, MIGRATIONS_DIR, create_engine, migrate
from graph.settings import Settings
from models import catalogue as c
from models import remote as r
from models import telemetry as tel
from resolvers.monitoring.telemetry.partitions import create_partition, forget_all
from tests.environment import TEST_DATABASE_URL

DAYS = [
    datetime(2026, 12, 1, 12, tzinfo=UTC) + timedelta(days=day, minutes=minute)
    for day in range(3)
    for minute in range(5)
]


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    def run(connection) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        config.attributes["connection"] = connection
        command.downgrade(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


@pytest.fixture
async def engine(tmp_path):
    """A database of its own: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if not TEST_DATABASE_URL.startswith("postgresql"):
        engine = create_engine(Settings(data_dir=tmp_path))
        yield engine
        await engine.dispose()
        return
    schema = f"migration_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(TEST_DATABASE_URL)
    async with admin.begin() as connection:
        await connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_async_engine(
        TEST_DATABASE_URL, connect_args={"server_settings": {"search_path": schema}}, **ENGINE_OPTIONS
    )
    try:
        yield engine
    finally:
        await engine.dispose()
        async with admin.begin() as connection:
            await connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        await admin.dispose()
        forget_all()  # the partitions this process knows of were the dropped schema's


async def points(engine: AsyncEngine) -> list[tuple]:
    async with engine.connect() as connection:
        rows = await connection.execute(text("SELECT series_id, value FROM telemetry_point ORDER BY series_id, value"))
        return [tuple(row) for row in rows]


async def seed_location_points(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        # plain SQL: today's model has columns (customer_number, issue 18) that 0015 does not
        organisation = (
            await connection.execute(
                text(
                    "INSERT INTO organisation (public_id, name, your_reference, can_create_organisations, path, "
                    "password_min_length, password_history, require_two_factor, created_at) "
                    "VALUES (:public_id, 'Water works', '', false, '/1/', 12, 3, false, CURRENT_TIMESTAMP) RETURNING id"
                ),
                {"public_id": str(uuid.uuid4())},
            )
        ).scalar_one()
        location = (
            await connection.execute(insert(r.Location).values(organisation_id=organisation, name="Plant"))
        ).inserted_primary_key[0]
        await connection.execute(
            insert(tel.TelemetrySeries.__table__).values(
                id=1, organisation_id=organisation, location_id=location, key="level", unit="", data_type="FLOAT"
            )
        )
        if connection.dialect.name == "postgresql":
            # one day in its own partition, the others in the default partition
            from sqlalchemy.ext.asyncio import AsyncSession

            async with AsyncSession(bind=connection) as session:
                await create_partition(session, DAYS[0].date())
        await connection.execute(
            insert(tel.TelemetryPoint),
            [{"series_id": 1, "at": at, "value": float(index)} for index, at in enumerate(DAYS)],
        )


async def test_upgrade_and_downgrade_keep_every_location_point(engine):
    await migrate(engine, "0015")
    await seed_location_points(engine)
    before = await points(engine)
    assert len(before) == len(DAYS)

    await migrate(engine, "0016")
    assert await points(engine) == before
    async with engine.begin() as connection:
        organisation = (await connection.execute(text("SELECT id FROM organisation"))).scalar_one()
        product = (
            await connection.execute(
                insert(c.ProductType).values(
                    name="TOPAS Lora W8", manufacturer="INTEGRA", radio_technology="LORAWAN", key_kinds=[]
                )
            )
        ).inserted_primary_key[0]
        meter = (
            await connection.execute(
                insert(c.Device).values(
                    manufacturer="INTEGRA",
                    serial_number="33100050",
                    product_type_id=product,
                    organisation_id=organisation,
                )
            )
        ).inserted_primary_key[0]
        await connection.execute(
            insert(tel.TelemetrySeries).values(
                id=2, organisation_id=organisation, meter_id=meter, key="volume", unit="m³"
            )
        )
        await connection.execute(insert(tel.TelemetryPoint).values(series_id=2, at=DAYS[-1], value=12.5))
        # a series is a location's or a meter's: neither (or both) is refused by the check
        with pytest.raises(IntegrityError, match=r"(?i)check"):
            async with connection.begin_nested():
                await connection.execute(
                    insert(tel.TelemetrySeries).values(id=3, organisation_id=organisation, key="x")
                )
    assert await points(engine) == [*before, (2, 12.5)]

    await downgrade(engine, "0015")
    assert await points(engine) == before  # the meter's reading went with its series; the location's stay
    async with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            assert (await connection.execute(text("PRAGMA integrity_check"))).scalar_one() == "ok"
            assert (await connection.execute(text("PRAGMA foreign_key_check"))).all() == []
        with pytest.raises(IntegrityError, match=r"(?i)null"):  # location_id is required again
            async with connection.begin_nested():
                await connection.execute(
                    text(
                        "INSERT INTO telemetry_series (id, organisation_id, key, unit, data_type, created_at) "
                        "VALUES (4, :organisation, 'x', '', 'FLOAT', :now)"
                    ),
                    {"organisation": organisation, "now": DAYS[0]},
                )

    await migrate(engine, "head")
    assert await points(engine) == before
