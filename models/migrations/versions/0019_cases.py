"""Cases and calls, case statuses and activity types (issue 18; filled in by the cases work).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 11:00:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('activity_type',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_activity_type_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activity_type')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_activity_type_organisation_id_name'))
    )
    with op.batch_alter_table('activity_type', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activity_type_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('case_settings_seed',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_case_settings_seed_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_case_settings_seed'))
    )
    op.create_table('case_status',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('hidden_in_client', sa.Boolean(), nullable=False),
    sa.Column('closes_case', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_case_status_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_status')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_case_status_organisation_id_name'))
    )
    with op.batch_alter_table('case_status', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_status_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('service_case',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('status_id', sa.Integer(), nullable=False),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('description', sa.String(length=4000), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['location_device.id'], name=op.f('fk_service_case_device_id_location_device'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_service_case_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_service_case_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['status_id'], ['case_status.id'], name=op.f('fk_service_case_status_id_case_status')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_service_case_user_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_case'))
    )
    with op.batch_alter_table('service_case', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_case_device_id'), ['device_id'], unique=False)
        batch_op.create_index('ix_service_case_location_started', ['location_id', 'started_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_case_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_case_status_id'), ['status_id'], unique=False)
        batch_op.create_index('ix_service_case_user_started', ['user_id', 'started_at', 'id'], unique=False)

    op.create_table('case_call',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('activity_type_id', sa.Integer(), nullable=False),
    sa.Column('status_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.String(length=4000), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('duration_minutes >= 0', name=op.f('ck_case_call_duration_not_negative')),
    sa.ForeignKeyConstraint(['activity_type_id'], ['activity_type.id'], name=op.f('fk_case_call_activity_type_id_activity_type')),
    sa.ForeignKeyConstraint(['case_id'], ['service_case.id'], name=op.f('fk_case_call_case_id_service_case'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['status_id'], ['case_status.id'], name=op.f('fk_case_call_status_id_case_status')),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_case_call_user_id_app_user'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_call'))
    )
    with op.batch_alter_table('case_call', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_call_activity_type_id'), ['activity_type_id'], unique=False)
        batch_op.create_index('ix_case_call_case_started', ['case_id', 'started_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_call_status_id'), ['status_id'], unique=False)
        batch_op.create_index('ix_case_call_user_started', ['user_id', 'started_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('case_call', schema=None) as batch_op:
        batch_op.drop_index('ix_case_call_user_started')
        batch_op.drop_index(batch_op.f('ix_case_call_status_id'))
        batch_op.drop_index('ix_case_call_case_started')
        batch_op.drop_index(batch_op.f('ix_case_call_activity_type_id'))

    op.drop_table('case_call')
    with op.batch_alter_table('service_case', schema=None) as batch_op:
        batch_op.drop_index('ix_service_case_user_started')
        batch_op.drop_index(batch_op.f('ix_service_case_status_id'))
        batch_op.drop_index(batch_op.f('ix_service_case_organisation_id'))
        batch_op.drop_index('ix_service_case_location_started')
        batch_op.drop_index(batch_op.f('ix_service_case_device_id'))

    op.drop_table('service_case')
    with op.batch_alter_table('case_status', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_status_organisation_id'))

    op.drop_table('case_status')
    op.drop_table('case_settings_seed')
    with op.batch_alter_table('activity_type', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activity_type_organisation_id'))

    op.drop_table('activity_type')
