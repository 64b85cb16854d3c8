"""Integrations of metering points and their runs (issue 17; filled in by the integrations work).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 04:35:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
