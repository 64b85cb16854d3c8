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
    op.create_table('saml_assertion',
    sa.Column('issuer', sa.String(length=500), nullable=False),
    sa.Column('assertion_id', sa.String(length=200), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('consumed_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_saml_assertion_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('issuer', 'assertion_id', name=op.f('pk_saml_assertion'))
    )
    op.create_index(op.f('ix_saml_assertion_organisation_id'), 'saml_assertion', ['organisation_id'], unique=False)
    op.create_table('saml_provider',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('mode', sa.Enum('OFF', 'ALLOWED', 'REQUIRED', name='saml_mode', native_enum=False, length=40), nullable=False),
    sa.Column('idp_metadata', sa.Text(), nullable=False),
    sa.Column('idp_entity_id', sa.String(length=500), nullable=False),
    sa.Column('idp_sso_url', sa.String(length=500), nullable=False),
    sa.Column('idp_certificate', sa.Text(), nullable=False),
    sa.Column('attribute_email', sa.String(length=200), nullable=False),
    sa.Column('attribute_name', sa.String(length=200), nullable=False),
    sa.Column('trust_idp_mfa', sa.Boolean(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_saml_provider_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_saml_provider'))
    )
    op.create_table('saml_request',
    sa.Column('id', sa.String(length=100), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_saml_request_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saml_request'))
    )
    op.create_index(op.f('ix_saml_request_organisation_id'), 'saml_request', ['organisation_id'], unique=False)
    op.create_table('saml_link',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('idp_entity_id', sa.String(length=500), nullable=False),
    sa.Column('linked_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_saml_link_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], name=op.f('fk_saml_link_user_id_app_user'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_saml_link'))
    )
    op.create_index(op.f('ix_saml_link_organisation_id'), 'saml_link', ['organisation_id'], unique=False)
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


def downgrade() -> None:
    op.drop_index(op.f('ix_saml_sign_in_code_user_id'), table_name='saml_sign_in_code')
    op.drop_table('saml_sign_in_code')
    op.drop_index(op.f('ix_saml_link_organisation_id'), table_name='saml_link')
    op.drop_table('saml_link')
    op.drop_index(op.f('ix_saml_request_organisation_id'), table_name='saml_request')
    op.drop_table('saml_request')
    op.drop_table('saml_provider')
    op.drop_index(op.f('ix_saml_assertion_organisation_id'), table_name='saml_assertion')
    op.drop_table('saml_assertion')
