"""instances' health: checks, daily sums, outages

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('platform_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('health', sa.String(length=16), nullable=False, server_default='unknown'))
        batch_op.add_column(sa.Column('failures_in_a_row', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('health_checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('down_since', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('platform_instances', schema=None) as batch_op:
        batch_op.alter_column('health', server_default=None)
        batch_op.alter_column('failures_in_a_row', server_default=None)
    op.create_table('health_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('up', sa.Boolean(), nullable=False),
    sa.Column('status_code', sa.Integer(), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['platform_instances.id'], name=op.f('fk_health_checks_instance_id_platform_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_checks'))
    )
    with op.batch_alter_table('health_checks', schema=None) as batch_op:
        batch_op.create_index('ix_health_checks_instance_checked', ['instance_id', 'checked_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_health_checks_checked_at'), ['checked_at'], unique=False)
    op.create_table('health_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('checks', sa.Integer(), nullable=False),
    sa.Column('up_checks', sa.Integer(), nullable=False),
    sa.Column('latency_ms_total', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['platform_instances.id'], name=op.f('fk_health_days_instance_id_platform_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_days')),
    sa.UniqueConstraint('instance_id', 'day', name='uq_health_days_instance_day')
    )
    with op.batch_alter_table('health_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_health_days_instance_id'), ['instance_id'], unique=False)
    op.create_table('outages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('noted_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['platform_instances.id'], name=op.f('fk_outages_instance_id_platform_instances')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_outages_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outages'))
    )
    with op.batch_alter_table('outages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outages_instance_id'), ['instance_id'], unique=False)


def downgrade():
    op.drop_table('outages')
    op.drop_table('health_days')
    op.drop_table('health_checks')
    with op.batch_alter_table('platform_instances', schema=None) as batch_op:
        for name in ('down_since', 'health_checked_at', 'failures_in_a_row', 'health'):
            batch_op.drop_column(name)
