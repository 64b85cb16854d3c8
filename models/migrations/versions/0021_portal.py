"""Customers' licence pools, firewall rules, local network defaults, user preferences (issue 18; filled in by that work).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 11:00:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_customer_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reseller_id'], ['organisation.id'], name=op.f('fk_customer_reseller_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_customer'))
    )
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_customer_reseller_id'), ['reseller_id'], unique=False)

    op.create_table('firewall_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.Enum('INBOUND', 'OUTBOUND', name='firewall_direction', native_enum=False, length=40), nullable=False),
    sa.Column('protocol', sa.Enum('TCP', 'UDP', 'ICMP', 'ANY', name='firewall_protocol', native_enum=False, length=40), nullable=False),
    sa.Column('port_from', sa.Integer(), nullable=True),
    sa.Column('port_to', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=49), nullable=False),
    sa.Column('destination', sa.String(length=49), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('port_from IS NULL OR (port_from >= 1 AND port_from <= 65535)', name=op.f('ck_firewall_rule_port_from_range')),
    sa.CheckConstraint('port_to IS NULL OR (port_to >= port_from AND port_to <= 65535)', name=op.f('ck_firewall_rule_port_to_range')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_firewall_rule_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_firewall_rule'))
    )
    with op.batch_alter_table('firewall_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_firewall_rule_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('network_defaults',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('subnet', sa.String(length=18), nullable=False),
    sa.Column('gateway', sa.String(length=15), nullable=False),
    sa.Column('dns_servers', sa.JSON(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_network_defaults_organisation_id_organisation'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_network_defaults'))
    )
    op.create_table('location_network',
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('subnet', sa.String(length=18), nullable=False),
    sa.Column('gateway', sa.String(length=15), nullable=False),
    sa.Column('dns_servers', sa.JSON(), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_network_location_id_location'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('location_id', name=op.f('pk_location_network'))
    )
    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dark_mode', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('menu_position', sa.Enum('LEFT', 'TOP', name='menu_position', native_enum=False, length=40), nullable=False, server_default='LEFT'))

    with op.batch_alter_table('router_status_sample', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lan_subnet', sa.String(length=18), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('router_status_sample', schema=None) as batch_op:
        batch_op.drop_column('lan_subnet')

    with op.batch_alter_table('app_user', schema=None) as batch_op:
        batch_op.drop_column('menu_position')
        batch_op.drop_column('dark_mode')

    op.drop_table('location_network')
    op.drop_table('network_defaults')
    with op.batch_alter_table('firewall_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_firewall_rule_organisation_id'))

    op.drop_table('firewall_rule')
    with op.batch_alter_table('customer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customer_reseller_id'))

    op.drop_table('customer')
