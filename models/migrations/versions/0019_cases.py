"""Cases and calls, case statuses and activity types (issue 18; filled in by that work).

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
    pass


def downgrade() -> None:
    pass
