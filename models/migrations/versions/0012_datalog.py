"""Data monitoring per location: datalog devices, configuration uploads, graphics (issue 16; filled in by the datalog work).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:50:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
