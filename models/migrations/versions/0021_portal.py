"""Customers' licence pools, firewall rules, local network defaults, user preferences (issue 18; filled in by that work).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:00:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
