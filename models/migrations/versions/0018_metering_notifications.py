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
    pass


def downgrade() -> None:
    pass
