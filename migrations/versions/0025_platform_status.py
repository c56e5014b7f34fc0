"""planned maintenance and the councils' platform notices

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    # helpdesk.instances.maintenance
    op.create_table('maintenance_windows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_maintenance_windows_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_windows'))
    )
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.create_index('ix_maintenance_windows_starts_at', ['starts_at'], unique=False)
        batch_op.create_index('ix_maintenance_windows_ends_at', ['ends_at'], unique=False)
    op.create_table('maintenance_window_instances',
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['platform_instances.id'],
                            name=op.f('fk_maintenance_window_instances_instance_id_platform_instances'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['window_id'], ['maintenance_windows.id'],
                            name=op.f('fk_maintenance_window_instances_window_id_maintenance_windows'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('window_id', 'instance_id', name=op.f('pk_maintenance_window_instances'))
    )
    with op.batch_alter_table('maintenance_window_instances', schema=None) as batch_op:
        batch_op.create_index('ix_maintenance_window_instances_instance_id_window_id', ['instance_id', 'window_id'],
                              unique=False)
    op.create_table('maintenance_notices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('window_id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('told_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['council_id'], ['councils.id'], name=op.f('fk_maintenance_notices_council_id_councils'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['window_id'], ['maintenance_windows.id'],
                            name=op.f('fk_maintenance_notices_window_id_maintenance_windows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_maintenance_notices'))
    )
    with op.batch_alter_table('maintenance_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_maintenance_notices_council_id'), ['council_id'], unique=False)
        batch_op.create_index('uq_maintenance_notices_window_id_council_id', ['window_id', 'council_id'], unique=True)
    # helpdesk.councils.models.Contact: every contact known so far receives the notices until they opt out.
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receives_platform_notices', sa.Boolean(), nullable=False,
                                      server_default=sa.true()))


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('receives_platform_notices')
    with op.batch_alter_table('maintenance_notices', schema=None) as batch_op:
        batch_op.drop_index('uq_maintenance_notices_window_id_council_id')
        batch_op.drop_index(batch_op.f('ix_maintenance_notices_council_id'))
    op.drop_table('maintenance_notices')
    with op.batch_alter_table('maintenance_window_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_maintenance_window_instances_instance_id_window_id')
    op.drop_table('maintenance_window_instances')
    with op.batch_alter_table('maintenance_windows', schema=None) as batch_op:
        batch_op.drop_index('ix_maintenance_windows_ends_at')
        batch_op.drop_index('ix_maintenance_windows_starts_at')
    op.drop_table('maintenance_windows')
