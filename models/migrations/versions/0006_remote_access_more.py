"""Remote access: devices behind routers, device templates, location access and groups, external
users, connections and their licence, notification profiles.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 07:42:06.825667
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('connection_licence',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('max_active_connections', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_connection_licence_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_connection_licence'))
    )
    op.create_table('device_template',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.Column('inactive', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_device_template_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_template')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_device_template_organisation_id_name'))
    )
    with op.batch_alter_table('device_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_template_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('location_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_location_group_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location_group')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_location_group_organisation_id_name'))
    )
    with op.batch_alter_table('location_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_group_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('notification_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('offline_minutes', sa.Integer(), nullable=False),
    sa.Column('repeat_minutes', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('offline_minutes >= 1', name=op.f('ck_notification_profile_offline_minutes_positive')),
    sa.CheckConstraint('repeat_minutes IS NULL OR repeat_minutes >= 1', name=op.f('ck_notification_profile_repeat_minutes_positive')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_notification_profile_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_profile')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_notification_profile_organisation_id_name'))
    )
    with op.batch_alter_table('notification_profile', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_profile_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('connection_failure',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('result', sa.String(length=40), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=False),
    sa.Column('router_common_name', sa.String(length=64), nullable=False),
    sa.Column('at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_connection_failure_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_connection_failure'))
    )
    op.create_table('device_template_service',
    sa.Column('template_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_type', sa.Enum('HTTP', 'HTTPS', 'SSH', 'TELNET', 'RDP', 'VNC', 'TCP', name='service_type', native_enum=False, length=40), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['device_template.id'], name=op.f('fk_device_template_service_template_id_device_template'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_device_template_service'))
    )
    with op.batch_alter_table('device_template_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_device_template_service_template_id'), ['template_id'], unique=False)

    op.create_table('external_user',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_external_user_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_external_user_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', 'user_id', name=op.f('pk_external_user'))
    )
    with op.batch_alter_table('external_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_user_user_id'), ['user_id'], unique=False)

    op.create_table('location_group_user',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['location_group.id'], name=op.f('fk_location_group_user_group_id_location_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_location_group_user_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'user_id', name=op.f('pk_location_group_user'))
    )
    with op.batch_alter_table('location_group_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_group_user_user_id'), ['user_id'], unique=False)

    op.create_table('notification_profile_email',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['notification_profile.id'], name=op.f('fk_notification_profile_email_profile_id_notification_profile'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'email', name=op.f('pk_notification_profile_email'))
    )
    op.create_table('notification_profile_location_group',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['location_group.id'], name=op.f('fk_notification_profile_location_group_group_id_location_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['notification_profile.id'], name=op.f('fk_notification_profile_location_group_profile_id_notification_profile'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'group_id', name=op.f('pk_notification_profile_location_group'))
    )
    with op.batch_alter_table('notification_profile_location_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_profile_location_group_group_id'), ['group_id'], unique=False)

    op.create_table('notification_profile_user',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['notification_profile.id'], name=op.f('fk_notification_profile_user_profile_id_notification_profile'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_notification_profile_user_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'user_id', name=op.f('pk_notification_profile_user'))
    )
    with op.batch_alter_table('notification_profile_user', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_profile_user_user_id'), ['user_id'], unique=False)

    op.create_table('offline_notification',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('router_id', sa.Integer(), nullable=False),
    sa.Column('offline_since', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_sent_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_count', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['notification_profile.id'], name=op.f('fk_offline_notification_profile_id_notification_profile'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['router_id'], ['router.id'], name=op.f('fk_offline_notification_router_id_router'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'router_id', name=op.f('pk_offline_notification'))
    )
    with op.batch_alter_table('offline_notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_offline_notification_router_id'), ['router_id'], unique=False)

    op.create_table('location_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_device_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['device_template.id'], name=op.f('fk_location_device_template_id_device_template'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location_device')),
    sa.UniqueConstraint('location_id', 'name', name=op.f('uq_location_device_location_id_name'))
    )
    with op.batch_alter_table('location_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_device_location_id'), ['location_id'], unique=False)

    op.create_table('location_group_location',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['location_group.id'], name=op.f('fk_location_group_location_group_id_location_group'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_group_location_location_id_location'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', 'location_id', name=op.f('pk_location_group_location'))
    )
    with op.batch_alter_table('location_group_location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_group_location_location_id'), ['location_id'], unique=False)

    op.create_table('location_user_access',
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_user_access_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_location_user_access_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('location_id', 'user_id', name=op.f('pk_location_user_access'))
    )
    with op.batch_alter_table('location_user_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_user_access_user_id'), ['user_id'], unique=False)

    op.create_table('location_user_group_access',
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('user_group_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_user_group_access_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_group_id'], ['user_group.id'], name=op.f('fk_location_user_group_access_user_group_id_user_group'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('location_id', 'user_group_id', name=op.f('pk_location_user_group_access'))
    )
    with op.batch_alter_table('location_user_group_access', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_user_group_access_user_group_id'), ['user_group_id'], unique=False)

    op.create_table('notification_profile_location',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_notification_profile_location_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['profile_id'], ['notification_profile.id'], name=op.f('fk_notification_profile_location_profile_id_notification_profile'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'location_id', name=op.f('pk_notification_profile_location'))
    )
    with op.batch_alter_table('notification_profile_location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notification_profile_location_location_id'), ['location_id'], unique=False)

    op.create_table('location_device_service',
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('service_type', sa.Enum('HTTP', 'HTTPS', 'SSH', 'TELNET', 'RDP', 'VNC', 'TCP', name='service_type', native_enum=False, length=40), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('path', sa.String(length=200), nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['location_device.id'], name=op.f('fk_location_device_service_device_id_location_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location_device_service'))
    )
    with op.batch_alter_table('location_device_service', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_device_service_device_id'), ['device_id'], unique=False)

    op.create_table('router_connection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('router_id', sa.Integer(), nullable=True),
    sa.Column('router_common_name', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('device_name', sa.String(length=200), nullable=False),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_reason', sa.Enum('DISCONNECTED', 'ROUTER_OFFLINE', 'ACCESS_REVOKED', name='connection_end', native_enum=False, length=40), nullable=True),
    sa.ForeignKeyConstraint(['device_id'], ['location_device.id'], name=op.f('fk_router_connection_device_id_location_device'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_router_connection_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_router_connection_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['router_id'], ['router.id'], name=op.f('fk_router_connection_router_id_router'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_router_connection_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_router_connection'))
    )
    with op.batch_alter_table('router_connection', schema=None) as batch_op:
        batch_op.create_index('ix_router_connection_location_started', ['location_id', 'started_at', 'id'], unique=False)
        batch_op.create_index('ix_router_connection_organisation_ended', ['organisation_id', 'ended_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_router_connection_router_id'), ['router_id'], unique=False)
        batch_op.create_index('uq_router_connection_active_user', ['user_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('router_connection', schema=None) as batch_op:
        batch_op.drop_index('uq_router_connection_active_user', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_router_connection_router_id'))
        batch_op.drop_index('ix_router_connection_organisation_ended')
        batch_op.drop_index('ix_router_connection_location_started')

    op.drop_table('router_connection')
    with op.batch_alter_table('location_device_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_device_service_device_id'))

    op.drop_table('location_device_service')
    with op.batch_alter_table('notification_profile_location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_profile_location_location_id'))

    op.drop_table('notification_profile_location')
    with op.batch_alter_table('location_user_group_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_user_group_access_user_group_id'))

    op.drop_table('location_user_group_access')
    with op.batch_alter_table('location_user_access', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_user_access_user_id'))

    op.drop_table('location_user_access')
    with op.batch_alter_table('location_group_location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_group_location_location_id'))

    op.drop_table('location_group_location')
    with op.batch_alter_table('location_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_device_location_id'))

    op.drop_table('location_device')
    with op.batch_alter_table('offline_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_offline_notification_router_id'))

    op.drop_table('offline_notification')
    with op.batch_alter_table('notification_profile_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_profile_user_user_id'))

    op.drop_table('notification_profile_user')
    with op.batch_alter_table('notification_profile_location_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_profile_location_group_group_id'))

    op.drop_table('notification_profile_location_group')
    op.drop_table('notification_profile_email')
    with op.batch_alter_table('location_group_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_group_user_user_id'))

    op.drop_table('location_group_user')
    with op.batch_alter_table('external_user', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_user_user_id'))

    op.drop_table('external_user')
    with op.batch_alter_table('device_template_service', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_template_service_template_id'))

    op.drop_table('device_template_service')
    op.drop_table('connection_failure')
    with op.batch_alter_table('notification_profile', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_profile_organisation_id'))

    op.drop_table('notification_profile')
    with op.batch_alter_table('location_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_group_organisation_id'))

    op.drop_table('location_group')
    with op.batch_alter_table('device_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_device_template_organisation_id'))

    op.drop_table('device_template')
    op.drop_table('connection_licence')
