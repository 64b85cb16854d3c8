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
    pass


def downgrade() -> None:
    pass
