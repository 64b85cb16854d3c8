"""The outbound-delivery engine and forwarding targets (issue 16; filled in by the forwarding work).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 23:50:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
