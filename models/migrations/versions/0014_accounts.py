"""One-time-code sign-in, SMS gateway, phone numbers and contact addresses (issue 17; filled in by the accounts work).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 04:05:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
