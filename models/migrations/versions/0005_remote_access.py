"""remote access

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 04:02:44.890316
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('router',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('common_name', sa.String(length=64), nullable=False),
    sa.Column('mac_address', sa.String(length=17), nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('firmware', sa.String(length=100), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=True),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('last_heartbeat_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('state_changed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_router_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_router')),
    sa.UniqueConstraint('common_name', name=op.f('uq_router_common_name')),
    sa.UniqueConstraint('mac_address', name=op.f('uq_router_mac_address')),
    sa.UniqueConstraint('serial_number', name=op.f('uq_router_serial_number'))
    )
    with op.batch_alter_table('router', schema=None) as batch_op:
        batch_op.create_index('ix_router_online_heartbeat', ['online', 'last_heartbeat_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_router_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('location',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('router_id', sa.Integer(), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('latitude IS NULL OR (latitude >= -90 AND latitude <= 90)', name=op.f('ck_location_latitude_range')),
    sa.CheckConstraint('longitude IS NULL OR (longitude >= -180 AND longitude <= 180)', name=op.f('ck_location_longitude_range')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_location_organisation_id_organisation')),
    sa.ForeignKeyConstraint(['router_id'], ['router.id'], name=op.f('fk_location_router_id_router'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_location_organisation_id_name')),
    sa.UniqueConstraint('router_id', name=op.f('uq_location_router_id'))
    )
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('router_status_sample',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('router_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('cpu_load', sa.Float(), nullable=True),
    sa.Column('memory_use', sa.Float(), nullable=True),
    sa.Column('modem_state', sa.String(length=40), nullable=False),
    sa.Column('signal_strength', sa.Float(), nullable=True),
    sa.Column('link_speed', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['router_id'], ['router.id'], name=op.f('fk_router_status_sample_router_id_router'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_router_status_sample'))
    )
    with op.batch_alter_table('router_status_sample', schema=None) as batch_op:
        batch_op.create_index('ix_router_status_sample_router_taken', ['router_id', 'taken_at', 'id'], unique=False)

    op.create_table('location_pin',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_pin_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_location_pin_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'location_id', name=op.f('pk_location_pin'))
    )
    with op.batch_alter_table('location_pin', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_pin_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('location_pin', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_pin_location_id'))

    op.drop_table('location_pin')
    with op.batch_alter_table('router_status_sample', schema=None) as batch_op:
        batch_op.drop_index('ix_router_status_sample_router_taken')

    op.drop_table('router_status_sample')
    with op.batch_alter_table('location', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_organisation_id'))

    op.drop_table('location')
    with op.batch_alter_table('router', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_router_organisation_id'))
        batch_op.drop_index('ix_router_online_heartbeat')

    op.drop_table('router')
