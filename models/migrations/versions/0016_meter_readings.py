"""Meter readings as telemetry (issue 17): a telemetry series belongs to a location or to a meter (a catalogue
device), and organisations get meter gateway tokens.

On PostgreSQL every step is an ALTER TABLE that keeps the rows. On SQLite, making `location_id` nullable the
usual way (batch mode) rebuilds telemetry_series: with PRAGMA foreign_keys=ON, which graph.db sets and which
cannot change inside the migration's transaction, dropping the old table would CASCADE-delete every
telemetry_point and forwarding_state row. So on SQLite the table is not rebuilt: `meter_id` is added with
ALTER TABLE ADD COLUMN, and the NOT NULL, the foreign key and the check are changed in the table's stored
CREATE statement, SQLite's documented procedure for constraint changes that need no change of the rows
(sqlite.org/lang_altertable.html, "making other kinds of table schema changes"). It rewrites no row and takes
the same time for a million points as for none.

Downgrading deletes the meters' series and their points (0015 has no place for them); a location's stay.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:05:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

NOT_NULL = "location_id INTEGER NOT NULL,"
NULLABLE = "location_id INTEGER,"
CHECK = "(location_id IS NULL) <> (meter_id IS NULL)"
#: Table constraints added to SQLite's stored CREATE TABLE (before its closing parenthesis).
SQLITE_CONSTRAINTS = (
    ", \n\tCONSTRAINT fk_telemetry_series_meter_id_device FOREIGN KEY(meter_id) REFERENCES device (id) "
    "ON DELETE CASCADE, \n\tCONSTRAINT ck_telemetry_series_one_owner CHECK (" + CHECK + ")"
)


def _edit_sqlite_schema(edit) -> None:
    """Replace telemetry_series' stored CREATE statement by edit(statement), in the migration's transaction."""
    bind = op.get_bind()
    statement = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'telemetry_series'"
    ).scalar_one()
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    bind.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'telemetry_series'", (edit(statement),)
    )
    # a new schema version makes every connection read the edited statement again
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def _owned_by_meters(statement: str) -> str:
    if NOT_NULL not in statement or not statement.rstrip().endswith(")"):
        raise RuntimeError("telemetry_series is not as migration 0009 made it; not editing its schema")
    statement = statement.replace(NOT_NULL, NULLABLE, 1)
    return statement.rstrip()[:-1].rstrip() + SQLITE_CONSTRAINTS + "\n)"


def _owned_by_locations(statement: str) -> str:
    if SQLITE_CONSTRAINTS not in statement:
        raise RuntimeError("telemetry_series is not as migration 0016 made it; not editing its schema")
    return statement.replace(SQLITE_CONSTRAINTS, "", 1).replace(NULLABLE, NOT_NULL, 1)


def upgrade() -> None:
    op.create_table('meter_gateway_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_meter_gateway_token_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_gateway_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_meter_gateway_token_token_hash'))
    )
    op.create_index(op.f('ix_meter_gateway_token_organisation_id'), 'meter_gateway_token', ['organisation_id'], unique=False)

    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE telemetry_series ADD COLUMN meter_id INTEGER")
        _edit_sqlite_schema(_owned_by_meters)
    else:
        op.add_column('telemetry_series', sa.Column('meter_id', sa.Integer(), nullable=True))
        op.alter_column('telemetry_series', 'location_id', existing_type=sa.INTEGER(), nullable=True)
        op.create_foreign_key(op.f('fk_telemetry_series_meter_id_device'), 'telemetry_series', 'device', ['meter_id'], ['id'], ondelete='CASCADE')
        op.create_check_constraint(op.f('ck_telemetry_series_one_owner'), 'telemetry_series', CHECK)
    op.create_index('uq_telemetry_series_meter_key', 'telemetry_series', ['meter_id', 'key'], unique=True, sqlite_where=sa.text('meter_id IS NOT NULL'), postgresql_where=sa.text('meter_id IS NOT NULL'))


def downgrade() -> None:
    # their points and forwarding states go with them (ON DELETE CASCADE)
    op.execute("DELETE FROM telemetry_series WHERE meter_id IS NOT NULL")
    op.drop_index('uq_telemetry_series_meter_key', table_name='telemetry_series', sqlite_where=sa.text('meter_id IS NOT NULL'), postgresql_where=sa.text('meter_id IS NOT NULL'))
    if op.get_bind().dialect.name == "sqlite":
        _edit_sqlite_schema(_owned_by_locations)
        # rewrites the rows in place (no DROP TABLE, so nothing cascades); allowed now that no constraint names it
        op.execute("ALTER TABLE telemetry_series DROP COLUMN meter_id")
    else:
        op.drop_constraint(op.f('ck_telemetry_series_one_owner'), 'telemetry_series', type_='check')
        op.drop_constraint(op.f('fk_telemetry_series_meter_id_device'), 'telemetry_series', type_='foreignkey')
        op.alter_column('telemetry_series', 'location_id', existing_type=sa.INTEGER(), nullable=False)
        op.drop_column('telemetry_series', 'meter_id')
    op.drop_index(op.f('ix_meter_gateway_token_organisation_id'), table_name='meter_gateway_token')
    op.drop_table('meter_gateway_token')
