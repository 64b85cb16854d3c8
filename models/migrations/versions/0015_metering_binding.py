"""Meter PINs and what binding needs (issue 17; filled in by the metering points work).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:05:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the PIN of the device passport, hashed (Argon2id); NB_IOT joins radio_technology (a plain string column)
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pin_hash', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('device', schema=None) as batch_op:
        batch_op.drop_column('pin_hash')
