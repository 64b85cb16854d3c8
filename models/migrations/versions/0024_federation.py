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
    op.create_table('federated_identity',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=60), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('linked_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_sign_in_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_federated_identity_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federated_identity')),
    sa.UniqueConstraint('provider', 'subject', name=op.f('uq_federated_identity_provider_subject'))
    )
    with op.batch_alter_table('federated_identity', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federated_identity_user_id'), ['user_id'], unique=False)

    op.create_table('oidc_pending_authorisation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=60), nullable=False),
    sa.Column('state_hash', sa.String(length=64), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('code_verifier', sa.String(length=128), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('consumed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_pending_authorisation')),
    sa.UniqueConstraint('state_hash', name=op.f('uq_oidc_pending_authorisation_state_hash'))
    )
    with op.batch_alter_table('oidc_pending_authorisation', schema=None) as batch_op:
        batch_op.create_index('ix_oidc_pending_authorisation_expires_at', ['expires_at'], unique=False)

    op.create_table('oidc_sign_in_grant',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider', sa.String(length=60), nullable=False),
    sa.Column('mfa_trusted', sa.Boolean(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_oidc_sign_in_grant_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_sign_in_grant')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_oidc_sign_in_grant_code_hash'))
    )
    with op.batch_alter_table('oidc_sign_in_grant', schema=None) as batch_op:
        batch_op.create_index('ix_oidc_sign_in_grant_expires_at', ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_oidc_sign_in_grant_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('oidc_sign_in_grant')
    op.drop_table('oidc_pending_authorisation')
    op.drop_table('federated_identity')
