"""OpenID Connect / OAuth 2 sign-in (issue 19; filled in by that work).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 12:15:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
