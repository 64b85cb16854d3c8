"""SAML single sign-on (issue 19; filled in by that work).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 12:15:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
