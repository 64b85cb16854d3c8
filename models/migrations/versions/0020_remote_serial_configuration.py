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
    # a router is in at most one configuration group: one nullable column on router, no membership table
    op.create_table('configuration_group',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_configuration_group_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_configuration_group')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_configuration_group_organisation_id_name'))
    )
    with op.batch_alter_table('configuration_group', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_configuration_group_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('serial_device_template',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('protocol', sa.Enum('MODBUS_RTU', 'MODBUS_ASCII', 'DNP3', 'TRANSPARENT', name='serial_protocol', native_enum=False, length=40), nullable=False),
    sa.Column('baud_rate', sa.Integer(), nullable=False),
    sa.Column('data_bits', sa.Integer(), nullable=False),
    sa.Column('stop_bits', sa.Enum('ONE', 'ONE_AND_A_HALF', 'TWO', name='serial_stop_bits', native_enum=False, length=40), nullable=False),
    sa.Column('parity', sa.Enum('NONE', 'EVEN', 'ODD', 'MARK', 'SPACE', name='serial_parity', native_enum=False, length=40), nullable=False),
    sa.Column('serial_mode', sa.Enum('RS232', 'RS422', 'RS485', name='serial_mode', native_enum=False, length=40), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('baud_rate IN (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)', name=op.f('ck_serial_device_template_baud_rate_standard')),
    sa.CheckConstraint('data_bits >= 5 AND data_bits <= 8', name=op.f('ck_serial_device_template_data_bits_range')),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_serial_device_template_organisation_id_organisation')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_serial_device_template')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_serial_device_template_organisation_id_name'))
    )
    with op.batch_alter_table('serial_device_template', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_serial_device_template_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('location_serial_device',
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.String(length=1000), nullable=False),
    sa.Column('protocol', sa.Enum('MODBUS_RTU', 'MODBUS_ASCII', 'DNP3', 'TRANSPARENT', name='serial_protocol', native_enum=False, length=40), nullable=False),
    sa.Column('baud_rate', sa.Integer(), nullable=False),
    sa.Column('data_bits', sa.Integer(), nullable=False),
    sa.Column('stop_bits', sa.Enum('ONE', 'ONE_AND_A_HALF', 'TWO', name='serial_stop_bits', native_enum=False, length=40), nullable=False),
    sa.Column('parity', sa.Enum('NONE', 'EVEN', 'ODD', 'MARK', 'SPACE', name='serial_parity', native_enum=False, length=40), nullable=False),
    sa.Column('serial_mode', sa.Enum('RS232', 'RS422', 'RS485', name='serial_mode', native_enum=False, length=40), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('baud_rate IN (300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600)', name=op.f('ck_location_serial_device_baud_rate_standard')),
    sa.CheckConstraint('data_bits >= 5 AND data_bits <= 8', name=op.f('ck_location_serial_device_data_bits_range')),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_location_serial_device_location_id_location'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['serial_device_template.id'], name=op.f('fk_location_serial_device_template_id_serial_device_template'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_location_serial_device')),
    sa.UniqueConstraint('location_id', 'name', name=op.f('uq_location_serial_device_location_id_name'))
    )
    with op.batch_alter_table('location_serial_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_location_serial_device_location_id'), ['location_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_location_serial_device_template_id'), ['template_id'], unique=False)

    with op.batch_alter_table('location_device', schema=None) as batch_op:
        batch_op.add_column(sa.Column('template_linked', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.create_index('uq_location_device_linked_template', ['location_id', 'template_id'], unique=True, sqlite_where=sa.text('template_linked'), postgresql_where=sa.text('template_linked'))

    with op.batch_alter_table('router', schema=None) as batch_op:
        batch_op.add_column(sa.Column('configuration_group_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_router_configuration_group_id'), ['configuration_group_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_router_configuration_group_id_configuration_group'), 'configuration_group', ['configuration_group_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('router', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_router_configuration_group_id_configuration_group'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_router_configuration_group_id'))
        batch_op.drop_column('configuration_group_id')

    with op.batch_alter_table('location_device', schema=None) as batch_op:
        batch_op.drop_index('uq_location_device_linked_template', sqlite_where=sa.text('template_linked'), postgresql_where=sa.text('template_linked'))
        batch_op.drop_column('template_linked')

    with op.batch_alter_table('location_serial_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_location_serial_device_template_id'))
        batch_op.drop_index(batch_op.f('ix_location_serial_device_location_id'))

    op.drop_table('location_serial_device')
    with op.batch_alter_table('serial_device_template', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_serial_device_template_organisation_id'))

    op.drop_table('serial_device_template')
    with op.batch_alter_table('configuration_group', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_configuration_group_organisation_id'))

    op.drop_table('configuration_group')
