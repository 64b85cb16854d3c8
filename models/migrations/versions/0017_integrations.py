"""Integrations of metering points and their runs (issue 17; filled in by the integrations work).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 04:35:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('metering_integration',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('metering_point_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('EMAIL', 'WEBHOOK', 'CITY_PORTAL', 'STATE_HOUSING', 'UTILITY', name='integration_kind', native_enum=False, length=40), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('periodicity', sa.String(length=10), nullable=False),
    sa.Column('first_date', sa.Date(), nullable=False),
    sa.Column('at_minute', sa.Integer(), nullable=False),
    sa.Column('next_period', sa.Date(), nullable=False),
    sa.Column('next_due_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('secret', sa.LargeBinary(), nullable=True),
    sa.Column('secret_version', sa.Integer(), nullable=False),
    sa.Column('retry_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('retry_period', sa.Date(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['metering_point_id'], ['metering_point.id'], name=op.f('fk_metering_integration_metering_point_id_metering_point'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_metering_integration_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metering_integration'))
    )
    with op.batch_alter_table('metering_integration', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metering_integration_metering_point_id'), ['metering_point_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_metering_integration_next_due_at'), ['next_due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_metering_integration_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_metering_integration_retry_at'), ['retry_at'], unique=False)

    op.create_table('metering_integration_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'DELIVERED', 'DEVICE_NOT_FOUND', 'FAILED', name='integration_run_status', native_enum=False, length=40), nullable=False),
    sa.Column('error', sa.String(length=1000), nullable=False),
    sa.Column('payload_digest', sa.String(length=64), nullable=False),
    sa.Column('delivery_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['integration_id'], ['metering_integration.id'], name=op.f('fk_metering_integration_run_integration_id_metering_integration'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metering_integration_run'))
    )
    with op.batch_alter_table('metering_integration_run', schema=None) as batch_op:
        batch_op.create_index('ix_metering_integration_run_integration', ['integration_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('metering_integration_run', schema=None) as batch_op:
        batch_op.drop_index('ix_metering_integration_run_integration')

    op.drop_table('metering_integration_run')
    with op.batch_alter_table('metering_integration', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_metering_integration_retry_at'))
        batch_op.drop_index(batch_op.f('ix_metering_integration_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_metering_integration_next_due_at'))
        batch_op.drop_index(batch_op.f('ix_metering_integration_metering_point_id'))

    op.drop_table('metering_integration')
