"""Notification subscriptions of metering points and Web Push subscriptions (issue 17; filled in by the notifications work).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 04:35:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_push_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('public_key', sa.String(length=100), nullable=False),
    sa.Column('private_key', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_push_key'))
    )
    op.create_table('metering_point_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('metering_point_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['metering_point_id'], ['metering_point.id'], name=op.f('fk_metering_point_subscription_metering_point_id_metering_point'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_metering_point_subscription_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metering_point_subscription')),
    sa.UniqueConstraint('metering_point_id', 'user_id', name=op.f('uq_metering_point_subscription_metering_point_id_user_id'))
    )
    with op.batch_alter_table('metering_point_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metering_point_subscription_user_id'), ['user_id'], unique=False)

    op.create_table('push_subscription',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=2000), nullable=False),
    sa.Column('p256dh', sa.String(length=200), nullable=False),
    sa.Column('auth', sa.String(length=100), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_push_subscription_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_push_subscription')),
    sa.UniqueConstraint('user_id', 'endpoint', name=op.f('uq_push_subscription_user_id_endpoint'))
    )
    with op.batch_alter_table('push_subscription', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_push_subscription_user_id'), ['user_id'], unique=False)

    op.create_table('metering_transfer_notice',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('metering_point_id', sa.Integer(), nullable=False),
    sa.Column('integration_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('succeeded', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['metering_point_id'], ['metering_point.id'], name=op.f('fk_metering_transfer_notice_metering_point_id_metering_point'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_metering_transfer_notice')),
    sa.UniqueConstraint('integration_id', 'period', 'succeeded', name=op.f('uq_metering_transfer_notice_integration_id_period_succeeded'))
    )
    with op.batch_alter_table('metering_transfer_notice', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_metering_transfer_notice_metering_point_id'), ['metering_point_id'], unique=False)


def downgrade() -> None:
    op.drop_table('metering_transfer_notice')
    op.drop_table('push_subscription')
    op.drop_table('metering_point_subscription')
    op.drop_table('web_push_key')
