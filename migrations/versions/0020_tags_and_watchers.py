"""tickets: free tags and watchers

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    # helpdesk.tickets.tags: names are stored normalised (trimmed, lower case), so a plain unique index
    # makes them unique case-insensitively on every database.
    op.create_table('tags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
    sa.UniqueConstraint('name', name=op.f('uq_tags_name'))
    )
    op.create_table('ticket_tags',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('tag_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_ticket_tags_tag_id_tags'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_tags_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'tag_id', name=op.f('pk_ticket_tags'))
    )
    with op.batch_alter_table('ticket_tags', schema=None) as batch_op:
        # The primary key finds a ticket's tags; this finds a tag's tickets (the inbox's filter).
        batch_op.create_index('ix_ticket_tags_tag_id_ticket_id', ['tag_id', 'ticket_id'], unique=False)
    # helpdesk.tickets.watchers
    op.create_table('ticket_watchers',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_ticket_watchers_added_by_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_watchers_ticket_id_tickets'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_watchers_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', 'user_id', name=op.f('pk_ticket_watchers'))
    )
    with op.batch_alter_table('ticket_watchers', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_watchers_user_id_ticket_id', ['user_id', 'ticket_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket_watchers', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_watchers_user_id_ticket_id')
    op.drop_table('ticket_watchers')
    with op.batch_alter_table('ticket_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_tags_tag_id_ticket_id')
    op.drop_table('ticket_tags')
    op.drop_table('tags')
