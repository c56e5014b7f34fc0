"""tickets: the live desk's event log, who has a ticket open (and is typing), reply drafts kept on the server

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('desk_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.Enum('ticket_created', 'ticket_changed', 'message_added', name='eventkind', native_enum=False, length=32), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('fields', sa.String(length=255), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_desk_events'))
    )
    with op.batch_alter_table('desk_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_desk_events_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_desk_events_ticket_id'), ['ticket_id'], unique=False)
    op.create_table('reply_drafts',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('reply', 'note', name='draftkind', native_enum=False, length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_reply_drafts_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_reply_drafts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'ticket_id', 'kind', name=op.f('pk_reply_drafts'))
    )
    op.create_table('ticket_presence',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('typing_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_presence_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_presence_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'ticket_id', name=op.f('pk_ticket_presence'))
    )
    with op.batch_alter_table('ticket_presence', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_presence_ticket_seen', ['ticket_id', 'seen_at'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket_presence', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_presence_ticket_seen')
    op.drop_table('ticket_presence')
    op.drop_table('reply_drafts')
    with op.batch_alter_table('desk_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_desk_events_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_desk_events_at'))
    op.drop_table('desk_events')
