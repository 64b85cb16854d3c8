"""The event log: live events written with the change they describe, numbered in commit order (issue 14).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 01:30:00
"""

import secrets

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

EVENT_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('event_log',
    sa.Column('id', EVENT_ID, autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_log')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_log_created_at'), ['created_at'], unique=False)
    horizon = op.create_table('event_log_horizon',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pruned_through', EVENT_ID, nullable=False),
    sa.Column('stream_id', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_log_horizon'))
    )
    op.bulk_insert(horizon, [{'id': 1, 'pruned_through': 0, 'stream_id': secrets.token_hex(8)}])


def downgrade() -> None:
    op.drop_table('event_log_horizon')
    with op.batch_alter_table('event_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_log_created_at'))
    op.drop_table('event_log')
