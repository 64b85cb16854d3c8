"""Remote clients, notification profiles on faults and standstill (issue 18; filled in by that work).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 11:00:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('condition_notification',
    sa.Column('profile_id', sa.Integer(), nullable=False),
    sa.Column('router_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('FAULT', 'STANDSTILL', name='condition_kind', native_enum=False, length=40), nullable=False),
    sa.Column('state', sa.String(length=40), nullable=False),
    sa.Column('changed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['profile_id'], ['notification_profile.id'], name=op.f('fk_condition_notification_profile_id_notification_profile'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['router_id'], ['router.id'], name=op.f('fk_condition_notification_router_id_router'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('profile_id', 'router_id', 'kind', name=op.f('pk_condition_notification'))
    )
    with op.batch_alter_table('condition_notification', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_condition_notification_router_id'), ['router_id'], unique=False)

    op.create_table('remote_client',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('pairing_key_hash', sa.String(length=64), nullable=True),
    sa.Column('pairing_expires_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.String(length=100), nullable=False),
    sa.Column('registered_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paired_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_heartbeat_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_remote_client_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_remote_client')),
    sa.UniqueConstraint('pairing_key_hash', name=op.f('uq_remote_client_pairing_key_hash')),
    sa.UniqueConstraint('secret_hash', name=op.f('uq_remote_client_secret_hash'))
    )
    with op.batch_alter_table('remote_client', schema=None) as batch_op:
        batch_op.create_index('ix_remote_client_pairing_expires', ['pairing_expires_at'], unique=False)
        batch_op.create_index('ix_remote_client_user_name', ['user_id', 'name', 'id'], unique=False)

    # existing profiles keep reporting offline routers only
    with op.batch_alter_table('notification_profile', schema=None) as batch_op:
        batch_op.add_column(sa.Column('on_offline', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('on_fault', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('on_standstill', sa.Boolean(), nullable=False, server_default=sa.false()))

    with op.batch_alter_table('router_status_sample', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fault_code', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('fault_message', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('standstill', sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('router_status_sample', schema=None) as batch_op:
        batch_op.drop_column('standstill')
        batch_op.drop_column('fault_message')
        batch_op.drop_column('fault_code')

    with op.batch_alter_table('notification_profile', schema=None) as batch_op:
        batch_op.drop_column('on_standstill')
        batch_op.drop_column('on_fault')
        batch_op.drop_column('on_offline')

    with op.batch_alter_table('remote_client', schema=None) as batch_op:
        batch_op.drop_index('ix_remote_client_user_name')
        batch_op.drop_index('ix_remote_client_pairing_expires')

    op.drop_table('remote_client')
    with op.batch_alter_table('condition_notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_condition_notification_router_id'))

    op.drop_table('condition_notification')
