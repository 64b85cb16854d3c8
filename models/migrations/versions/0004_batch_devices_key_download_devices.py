"""batch devices, key download devices

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 02:59:43.030697
"""

from alembic import op
import sqlalchemy as sa
import models.base

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batch_device',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_batch_device_batch_id_batch'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_batch_device_device_id_device'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('batch_id', 'device_id', name=op.f('pk_batch_device'))
    )
    with op.batch_alter_table('batch_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_batch_device_device_id'), ['device_id'], unique=False)

    op.create_table('key_download_device',
    sa.Column('key_download_id', sa.Integer(), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['device.id'], name=op.f('fk_key_download_device_device_id_device'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['key_download_id'], ['key_download.id'], name=op.f('fk_key_download_device_key_download_id_key_download'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key_download_id', 'device_id', name=op.f('pk_key_download_device'))
    )
    with op.batch_alter_table('key_download_device', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_key_download_device_device_id'), ['device_id'], unique=False)

    with op.batch_alter_table('batch', schema=None) as batch_op:
        # existing batches were all created as ownership requests
        batch_op.add_column(sa.Column('confirmation_required', sa.Boolean(), nullable=False, server_default=sa.true()))

    # the devices existing batches were created with are the ones that still point at them
    op.execute('INSERT INTO batch_device (batch_id, device_id) SELECT batch_id, id FROM device WHERE batch_id IS NOT NULL')

    with op.batch_alter_table('key_download', schema=None) as batch_op:
        batch_op.drop_column('device_ids')



def downgrade() -> None:
    with op.batch_alter_table('key_download', schema=None) as batch_op:
        batch_op.add_column(sa.Column('device_ids', sa.JSON(), nullable=False, server_default='[]'))

    with op.batch_alter_table('batch', schema=None) as batch_op:
        batch_op.drop_column('confirmation_required')

    with op.batch_alter_table('key_download_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_key_download_device_device_id'))

    op.drop_table('key_download_device')
    with op.batch_alter_table('batch_device', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_batch_device_device_id'))

    op.drop_table('batch_device')
