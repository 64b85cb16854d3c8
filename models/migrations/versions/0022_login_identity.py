"""Usernames, customer numbers, themes and login domains (issue 18).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 11:00:00
"""

import secrets

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def _backfill_customer_numbers() -> None:
    """One random 8-digit number per existing organisation, unique (as models.identity.new_customer_number)."""
    connection = op.get_bind()
    organisation = sa.table('organisation', sa.column('id', sa.Integer()), sa.column('customer_number', sa.String()))
    ids = connection.execute(sa.select(organisation.c.id).order_by(organisation.c.id)).scalars().all()
    taken: set[str] = set()
    for organisation_id in ids:
        number = str(10_000_000 + secrets.randbelow(90_000_000))
        while number in taken:
            number = str(10_000_000 + secrets.randbelow(90_000_000))
        taken.add(number)
        connection.execute(
            organisation.update().where(organisation.c.id == organisation_id).values(customer_number=number)
        )


def upgrade() -> None:
    op.create_table('login_domain',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('state', sa.Enum('PENDING', 'VERIFIED', name='login_domain_state', native_enum=False, length=40), nullable=False),
    sa.Column('verified_domain', sa.String(length=253), nullable=True),
    sa.Column('verified_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_login_domain_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_domain')),
    sa.UniqueConstraint('organisation_id', 'domain', name=op.f('uq_login_domain_organisation_id_domain')),
    sa.UniqueConstraint('verified_domain', name=op.f('uq_login_domain_verified_domain'))
    )
    with op.batch_alter_table('login_domain', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_login_domain_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('theme',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('main_colour', sa.String(length=7), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('font', sa.Enum('SYSTEM', 'ARIAL', 'HELVETICA', 'VERDANA', 'ROBOTO', 'OPEN_SANS', 'LATO', 'MONTSERRAT', name='theme_font', native_enum=False, length=40), nullable=False),
    sa.Column('website', sa.String(length=500), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_theme_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_theme'))
    )
    op.create_table('theme_image',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('LOGO', 'LOGO_DARK', 'FAVICON', name='theme_image_kind', native_enum=False, length=40), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_theme_image_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_image')),
    sa.UniqueConstraint('organisation_id', 'kind', name=op.f('uq_theme_image_organisation_id_kind'))
    )
    with op.batch_alter_table('theme_image', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_theme_image_sha256'), ['sha256'], unique=False)

    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('username', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_app_user_organisation_id_username'), ['organisation_id', 'username'])

    # Existing organisations get their customer number here: added nullable, filled, then required.
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_number', sa.String(length=8), nullable=True))
    _backfill_customer_numbers()
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.alter_column('customer_number', existing_type=sa.String(length=8), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_organisation_customer_number'), ['customer_number'])




def downgrade() -> None:
    with op.batch_alter_table('organisation', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_organisation_customer_number'), type_='unique')
        batch_op.drop_column('customer_number')

    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_app_user_organisation_id_username'), type_='unique')
        batch_op.drop_column('username')

    with op.batch_alter_table('theme_image', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_theme_image_sha256'))

    op.drop_table('theme_image')
    op.drop_table('theme')
    with op.batch_alter_table('login_domain', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_domain_organisation_id'))

    op.drop_table('login_domain')
