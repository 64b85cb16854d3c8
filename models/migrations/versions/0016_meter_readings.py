"""Meter readings as telemetry (issue 17; filled in by the readings work).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 04:05:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
