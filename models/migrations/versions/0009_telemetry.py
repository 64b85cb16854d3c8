"""Telemetry: series and points (issue 16).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:50:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

SERIES_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('telemetry_series',
    sa.Column('id', SERIES_ID, autoincrement=True, nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('data_type', sa.Enum('FLOAT', 'INTEGER', 'BOOLEAN', name='telemetry_data_type', native_enum=False, length=40), nullable=False),
    sa.Column('last_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['location_device.id'], name=op.f('fk_telemetry_series_device_id_location_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_telemetry_series_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_telemetry_series_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telemetry_series'))
    )
    with op.batch_alter_table('telemetry_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telemetry_series_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_telemetry_series_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('uq_telemetry_series_device_key', ['device_id', 'key'], unique=True, sqlite_where=sa.text('device_id IS NOT NULL'), postgresql_where=sa.text('device_id IS NOT NULL'))
        batch_op.create_index('uq_telemetry_series_location_key', ['location_id', 'key'], unique=True, sqlite_where=sa.text('device_id IS NULL'), postgresql_where=sa.text('device_id IS NULL'))

    op.create_table('telemetry_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_telemetry_token_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_telemetry_token_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_telemetry_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_telemetry_token_token_hash'))
    )
    with op.batch_alter_table('telemetry_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telemetry_token_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_telemetry_token_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('telemetry_retention',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_telemetry_retention_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_telemetry_retention'))
    )

    if op.get_bind().dialect.name == "postgresql":
        # Partitioned by range of `at` (one partition per UTC day, made ahead by the telemetry purge worker and
        # on demand by ingest: resolvers/monitoring/telemetry/partitions.py), so retention drops whole days.
        # The DEFAULT partition catches a point whose day has no partition yet.
        op.execute(
            "CREATE TABLE telemetry_point ("
            " series_id BIGINT NOT NULL,"
            " at TIMESTAMP WITH TIME ZONE NOT NULL,"
            " value FLOAT NOT NULL,"
            " CONSTRAINT pk_telemetry_point PRIMARY KEY (series_id, at),"
            " CONSTRAINT fk_telemetry_point_series_id_telemetry_series FOREIGN KEY (series_id)"
            " REFERENCES telemetry_series (id) ON DELETE CASCADE"
            ") PARTITION BY RANGE (at)"
        )
        op.execute("CREATE TABLE telemetry_point_default PARTITION OF telemetry_point DEFAULT")
        return
    op.create_table('telemetry_point',
    sa.Column('series_id', SERIES_ID, nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['telemetry_series.id'], name=op.f('fk_telemetry_point_series_id_telemetry_series'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('series_id', 'at', name='pk_telemetry_point')
    )


def downgrade() -> None:
    op.drop_table('telemetry_retention')
    with op.batch_alter_table('telemetry_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_telemetry_token_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_telemetry_token_location_id'))
    op.drop_table('telemetry_token')
    op.drop_table('telemetry_point')
    with op.batch_alter_table('telemetry_series', schema=None) as batch_op:
        batch_op.drop_index('uq_telemetry_series_location_key', sqlite_where=sa.text('device_id IS NULL'), postgresql_where=sa.text('device_id IS NULL'))
        batch_op.drop_index('uq_telemetry_series_device_key', sqlite_where=sa.text('device_id IS NOT NULL'), postgresql_where=sa.text('device_id IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_telemetry_series_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_telemetry_series_location_id'))
    op.drop_table('telemetry_series')
