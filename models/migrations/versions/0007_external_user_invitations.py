"""External user invitations: letting a user of another organisation in needs their consent (issue 11).

Rows of external_user made before this revision stay as they are (accepted).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 06:51:02.720852
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('external_user_invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['invited_by_id'], ['app_user.id'], name=op.f('fk_external_user_invitation_invited_by_id_app_user'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_external_user_invitation_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_external_user_invitation')),
    sa.UniqueConstraint('organisation_id', 'email', name=op.f('uq_external_user_invitation_organisation_id_email'))
    )
    with op.batch_alter_table('external_user_invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_user_invitation_email'), ['email'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('external_user_invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_external_user_invitation_email'))

    op.drop_table('external_user_invitation')
