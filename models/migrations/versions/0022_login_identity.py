"""Usernames, customer numbers, themes and login domains (issue 18; filled in by that work).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 11:00:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
