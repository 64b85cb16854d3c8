"""Federated sign-in, the rest (issue 19): one sign-in code table for OIDC and SAML (replacing one each), sessions begun with a
trusted IdP multi-factor sign-in, SAML role mapping, the client address of started sign-ins.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 13:50:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sign_in_code',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=500), nullable=False),
    sa.Column('mfa_trusted', sa.Boolean(), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_sign_in_code_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_sign_in_code'))
    )
    op.create_index('ix_sign_in_code_expires_at', 'sign_in_code', ['expires_at'], unique=False)
    op.create_index(op.f('ix_sign_in_code_user_id'), 'sign_in_code', ['user_id'], unique=False)
    # the two tables it replaces hold codes that live minutes: a sign-in under way at the upgrade starts again
    op.drop_table('saml_sign_in_code')
    op.drop_table('oidc_sign_in_grant')
    with op.batch_alter_table('auth_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mfa_by_idp', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('saml_provider', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attribute_roles', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('role_mapping', sa.JSON(), nullable=False, server_default='[]'))
    for table in ('oidc_pending_authorisation', 'saml_request'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('client_address', sa.String(length=64), nullable=False, server_default=''))
            batch_op.create_index(batch_op.f(f'ix_{table}_client_address'), ['client_address'], unique=False)


def downgrade() -> None:
    for table in ('saml_request', 'oidc_pending_authorisation'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f'ix_{table}_client_address'))
            batch_op.drop_column('client_address')
    with op.batch_alter_table('saml_provider', schema=None) as batch_op:
        batch_op.drop_column('role_mapping')
        batch_op.drop_column('attribute_roles')
    with op.batch_alter_table('auth_token', schema=None) as batch_op:
        batch_op.drop_column('mfa_by_idp')
    op.drop_index(op.f('ix_sign_in_code_user_id'), table_name='sign_in_code')
    op.drop_index('ix_sign_in_code_expires_at', table_name='sign_in_code')
    op.drop_table('sign_in_code')
    # the codes of both kinds live minutes: the old tables come back empty
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
    op.create_table('saml_sign_in_code',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('mfa_trusted', sa.Boolean(), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_saml_sign_in_code_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_saml_sign_in_code'))
    )
    op.create_index(op.f('ix_saml_sign_in_code_user_id'), 'saml_sign_in_code', ['user_id'], unique=False)
