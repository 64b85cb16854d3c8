"""The outbound-delivery engine and forwarding targets (issue 16; filled in by the forwarding work).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 23:50:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbound_delivery',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('target_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('state', sa.Enum('QUEUED', 'DELIVERED', 'FAILED', name='delivery_state', native_enum=False, length=40), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('lease_until', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lease_token', sa.String(length=40), nullable=False),
    sa.Column('last_error', sa.String(length=1000), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_delivery')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_outbound_delivery_idempotency_key'))
    )
    with op.batch_alter_table('outbound_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_delivery_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbound_delivery_target', ['kind', 'target_id', 'id'], unique=False)

    op.create_table('outbound_attempt',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('error', sa.String(length=1000), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['outbound_delivery.id'], name=op.f('fk_outbound_attempt_delivery_id_outbound_delivery'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbound_attempt'))
    )
    with op.batch_alter_table('outbound_attempt', schema=None) as batch_op:
        batch_op.create_index('ix_outbound_attempt_delivery', ['delivery_id', 'id'], unique=False)

    op.create_table('forwarding_target',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('platform', sa.Enum('INFLUXDB', 'BLOCKBAX', 'AWS_IOT_CORE', 'AZURE_IOT_HUB', name='forwarding_platform', native_enum=False, length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('smart', sa.Boolean(), nullable=False),
    sa.Column('smart_interval_seconds', sa.Integer(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=True),
    sa.Column('secret_version', sa.Integer(), nullable=False),
    sa.Column('secret_fingerprint', sa.String(length=20), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_forwarding_target_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_forwarding_target_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_forwarding_target'))
    )
    with op.batch_alter_table('forwarding_target', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forwarding_target_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_forwarding_target_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('forwarding_state',
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['telemetry_series.id'], name=op.f('fk_forwarding_state_series_id_telemetry_series'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['target_id'], ['forwarding_target.id'], name=op.f('fk_forwarding_state_target_id_forwarding_target'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('target_id', 'series_id', name='pk_forwarding_state')
    )


def downgrade() -> None:
    op.drop_table('forwarding_state')
    with op.batch_alter_table('forwarding_target', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forwarding_target_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_forwarding_target_location_id'))

    op.drop_table('forwarding_target')
    with op.batch_alter_table('outbound_attempt', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_attempt_delivery')

    op.drop_table('outbound_attempt')
    with op.batch_alter_table('outbound_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_delivery_target')
        batch_op.drop_index('ix_outbound_delivery_due')

    op.drop_table('outbound_delivery')
