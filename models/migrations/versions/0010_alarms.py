"""Alarm profiles, alarms and alarm notifications (issue 16; filled in by the alarms work).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 23:50:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('alarm_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.Enum('LOW', 'MEDIUM', 'HIGH', name='alarm_severity', native_enum=False, length=40), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('duration_seconds', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_alarm_profile_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_profile')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_alarm_profile_organisation_id_name'))
    )
    with op.batch_alter_table('alarm_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_profile_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('uq_alarm_profile_system_name', ['name'], unique=True, sqlite_where=sa.text('organisation_id IS NULL'), postgresql_where=sa.text('organisation_id IS NULL'))

    op.create_table('alarm_notification_setting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.Boolean(), nullable=False),
    sa.Column('all_profiles', sa.Boolean(), nullable=False),
    sa.Column('on_raise', sa.Boolean(), nullable=False),
    sa.Column('on_change', sa.Boolean(), nullable=False),
    sa.Column('on_clear', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_alarm_notification_setting_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_alarm_notification_setting_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_notification_setting')),
    sa.UniqueConstraint('organisation_id', 'user_id', name=op.f('uq_alarm_notification_setting_organisation_id_user_id'))
    )
    with op.batch_alter_table('alarm_notification_setting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_notification_setting_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_notification_setting_user_id'), ['user_id'], unique=False)

    op.create_table('alarm_profile_filter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('ACTIVATION', 'CLEARING', name='alarm_filter_kind', native_enum=False, length=40), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('condition', sa.Enum('GT', 'LT', 'EQ', 'NE', name='alarm_condition', native_enum=False, length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['alarm_profile.id'], name=op.f('fk_alarm_profile_filter_profile_id_alarm_profile'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_profile_filter'))
    )
    with op.batch_alter_table('alarm_profile_filter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_profile_filter_profile_id'), ['profile_id'], unique=False)

    op.create_table('alarm_profile_location_group',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['location_group.id'], name=op.f('fk_alarm_profile_location_group_group_id_location_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['alarm_profile.id'], name=op.f('fk_alarm_profile_location_group_profile_id_alarm_profile'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'group_id', name=op.f('pk_alarm_profile_location_group'))
    )
    with op.batch_alter_table('alarm_profile_location_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_profile_location_group_group_id'), ['group_id'], unique=False)

    op.create_table('alarm_notification_profile',
    sa.Column('setting_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['alarm_profile.id'], name=op.f('fk_alarm_notification_profile_profile_id_alarm_profile'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['setting_id'], ['alarm_notification_setting.id'], name=op.f('fk_alarm_notification_profile_setting_id_alarm_notification_setting'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('setting_id', 'profile_id', name=op.f('pk_alarm_notification_profile'))
    )
    with op.batch_alter_table('alarm_notification_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_notification_profile_profile_id'), ['profile_id'], unique=False)

    op.create_table('alarm_profile_location',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_alarm_profile_location_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['alarm_profile.id'], name=op.f('fk_alarm_profile_location_profile_id_alarm_profile'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'location_id', name=op.f('pk_alarm_profile_location'))
    )
    with op.batch_alter_table('alarm_profile_location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_profile_location_location_id'), ['location_id'], unique=False)

    op.create_table('alarm',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=True),
    sa.Column('profile_name', sa.String(length=100), nullable=False),
    sa.Column('severity', sa.Enum('LOW', 'MEDIUM', 'HIGH', name='alarm_severity', native_enum=False, length=40), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('open_key', sa.String(length=60), nullable=True),
    sa.Column('raised_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('occurrences', sa.Integer(), nullable=False),
    sa.Column('last_key', sa.String(length=100), nullable=True),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.Column('acknowledged', sa.Boolean(), nullable=False),
    sa.Column('acknowledged_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_by_label', sa.String(length=254), nullable=True),
    sa.Column('cleared', sa.Boolean(), nullable=False),
    sa.Column('cleared_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cleared_by_id', sa.Integer(), nullable=True),
    sa.Column('cleared_by_label', sa.String(length=254), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['app_user.id'], name=op.f('fk_alarm_acknowledged_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cleared_by_id'], ['app_user.id'], name=op.f('fk_alarm_cleared_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['location_device.id'], name=op.f('fk_alarm_device_id_location_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_alarm_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_alarm_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['alarm_profile.id'], name=op.f('fk_alarm_profile_id_alarm_profile'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm')),
    sa.UniqueConstraint('open_key', name=op.f('uq_alarm_open_key'))
    )
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_device_id'), ['device_id'], unique=False)
        batch_op.create_index('ix_alarm_location_raised', ['location_id', 'raised_at', 'id'], unique=False)
        batch_op.create_index('ix_alarm_organisation_raised', ['organisation_id', 'raised_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_profile_id'), ['profile_id'], unique=False)

    op.create_table('alarm_pending',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('pending_key', sa.String(length=60), nullable=False),
    sa.Column('since', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_key', sa.String(length=100), nullable=True),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['location_device.id'], name=op.f('fk_alarm_pending_device_id_location_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_alarm_pending_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['alarm_profile.id'], name=op.f('fk_alarm_pending_profile_id_alarm_profile'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alarm_pending')),
    sa.UniqueConstraint('pending_key', name=op.f('uq_alarm_pending_pending_key'))
    )
    with op.batch_alter_table('alarm_pending', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alarm_pending_device_id'), ['device_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_pending_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_pending_profile_id'), ['profile_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alarm_pending_since'), ['since'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alarm_pending', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_pending_since'))
        batch_op.drop_index(batch_op.f('ix_alarm_pending_profile_id'))
        batch_op.drop_index(batch_op.f('ix_alarm_pending_location_id'))
        batch_op.drop_index(batch_op.f('ix_alarm_pending_device_id'))

    op.drop_table('alarm_pending')
    with op.batch_alter_table('alarm', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_profile_id'))
        batch_op.drop_index('ix_alarm_organisation_raised')
        batch_op.drop_index('ix_alarm_location_raised')
        batch_op.drop_index(batch_op.f('ix_alarm_device_id'))

    op.drop_table('alarm')
    with op.batch_alter_table('alarm_profile_location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_profile_location_location_id'))

    op.drop_table('alarm_profile_location')
    with op.batch_alter_table('alarm_notification_profile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_notification_profile_profile_id'))

    op.drop_table('alarm_notification_profile')
    with op.batch_alter_table('alarm_profile_location_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_profile_location_group_group_id'))

    op.drop_table('alarm_profile_location_group')
    with op.batch_alter_table('alarm_profile_filter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_profile_filter_profile_id'))

    op.drop_table('alarm_profile_filter')
    with op.batch_alter_table('alarm_notification_setting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alarm_notification_setting_user_id'))
        batch_op.drop_index(batch_op.f('ix_alarm_notification_setting_organisation_id'))

    op.drop_table('alarm_notification_setting')
    with op.batch_alter_table('alarm_profile', schema=None) as batch_op:
        batch_op.drop_index('uq_alarm_profile_system_name', sqlite_where=sa.text('organisation_id IS NULL'), postgresql_where=sa.text('organisation_id IS NULL'))
        batch_op.drop_index(batch_op.f('ix_alarm_profile_organisation_id'))

    op.drop_table('alarm_profile')
