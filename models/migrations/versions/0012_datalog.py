"""Data monitoring per location: datalog devices, configuration uploads, graphics (issue 16; filled in by the datalog work).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:50:00
"""

from alembic import op
import sqlalchemy as sa
import models.base


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('datalog_location',
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('send_frequency_seconds', sa.Integer(), nullable=False),
    sa.Column('cloud_host', sa.Enum('HELIX', 'THINGSBOARD', 'DOCKERS', 'NETSUPPORT', name='datalog_cloud_host', native_enum=False, length=40), nullable=False),
    sa.Column('silence_seconds', sa.Integer(), nullable=False),
    sa.Column('config_state', sa.Enum('PENDING', 'APPLIED', 'FAILED', 'TIMED_OUT', name='datalog_config_state', native_enum=False, length=40), nullable=True),
    sa.Column('config_request_id', sa.String(length=64), nullable=True),
    sa.Column('config_sent_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('config_reason', sa.String(length=500), nullable=False),
    sa.Column('config_applied_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('activated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_datalog_location_location_id_location'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('location_id', name=op.f('pk_datalog_location')),
    sa.UniqueConstraint('config_request_id', name=op.f('uq_datalog_location_config_request_id'))
    )
    op.create_table('datalog_device',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('location_device_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('protocol', sa.Enum('OPC_UA', 'BACNET', 'MODBUS', 'SNMP', name='datalog_protocol', native_enum=False, length=40), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('secrets_sealed', sa.LargeBinary(), nullable=True),
    sa.Column('variables', sa.JSON(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(location_device_id IS NULL) <> (template_id IS NULL)', name=op.f('ck_datalog_device_one_owner')),
    sa.ForeignKeyConstraint(['location_device_id'], ['location_device.id'], name=op.f('fk_datalog_device_location_device_id_location_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], name=op.f('fk_datalog_device_organisation_id_organisation'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['template_id'], ['device_template.id'], name=op.f('fk_datalog_device_template_id_device_template'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datalog_device'))
    )
    with op.batch_alter_table('datalog_device', schema=None) as batch_op:
        batch_op.create_index('ix_datalog_device_location_device_id', ['location_device_id'], unique=False)
        batch_op.create_index('ix_datalog_device_template_id', ['template_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_datalog_device_organisation_id'), ['organisation_id'], unique=False)
    op.create_table('datalog_graphic',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('location_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('svg', sa.Text(), nullable=False),
    sa.Column('element_ids', sa.JSON(), nullable=False),
    sa.Column('bindings', sa.JSON(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['location_id'], ['location.id'], name=op.f('fk_datalog_graphic_location_id_location'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datalog_graphic'))
    )
    with op.batch_alter_table('datalog_graphic', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datalog_graphic_location_id'), ['location_id'], unique=False)
    # the event history of data monitoring is filtered by location (manual §21.13)
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('location_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_audit_event_location_id'), ['location_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_event_location_id'))
        batch_op.drop_column('location_id')
    op.drop_table('datalog_graphic')
    op.drop_table('datalog_device')
    op.drop_table('datalog_location')
