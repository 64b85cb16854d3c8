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
    pass


def downgrade() -> None:
    pass
