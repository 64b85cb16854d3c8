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
    pass


def downgrade() -> None:
    pass
