"""satisfaction ratings of resolved tickets

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    # helpdesk.tickets.satisfaction: one rating per resolution of a ticket.
    op.create_table('satisfaction_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_good', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('agent_id', sa.Integer(), nullable=True),
    sa.Column('rated_by_id', sa.Integer(), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['agent_id'], ['users.id'], name=op.f('fk_satisfaction_ratings_agent_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['rated_by_id'], ['users.id'], name=op.f('fk_satisfaction_ratings_rated_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_satisfaction_ratings_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_ratings')),
    sa.UniqueConstraint('ticket_id', 'resolved_at', name='uq_satisfaction_ratings_ticket_id_resolved_at')
    )
    with op.batch_alter_table('satisfaction_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_satisfaction_ratings_agent_id'), ['agent_id'], unique=False)
        batch_op.create_index('ix_satisfaction_ratings_rated_at', ['rated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('satisfaction_ratings', schema=None) as batch_op:
        batch_op.drop_index('ix_satisfaction_ratings_rated_at')
        batch_op.drop_index(batch_op.f('ix_satisfaction_ratings_agent_id'))
    op.drop_table('satisfaction_ratings')
