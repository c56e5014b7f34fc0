"""people's desk preferences: the inbox's columns and sort, and a reply signature

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    # --- the reply signature (replies; issue #18) ---------------------------------------------------
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signature', sa.Text(), server_default='', nullable=False))
    # --- end of the reply signature -------------------------------------------------------------------
    # --- the inbox's columns and sort (helpdesk.tickets.preferences; issue #18) ----------------------
    op.create_table('inbox_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('columns', sa.Text(), nullable=True),
    sa.Column('sort', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inbox_preferences_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_inbox_preferences'))
    )
    # --- end of the inbox's columns and sort ----------------------------------------------------------


def downgrade():
    # --- the inbox's columns and sort (helpdesk.tickets.preferences; issue #18) ----------------------
    op.drop_table('inbox_preferences')
    # --- end of the inbox's columns and sort ----------------------------------------------------------
    # --- the reply signature (replies; issue #18) ---------------------------------------------------
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('signature')
    # --- end of the reply signature -------------------------------------------------------------------
