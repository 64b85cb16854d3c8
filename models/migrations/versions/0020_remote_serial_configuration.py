"""Serial devices and their templates, configuration groups, template links (issue 18; filled in by that work).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 11:00:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
