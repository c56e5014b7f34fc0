"""mailboxes configured in the administration screens

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mailboxes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('port', sa.Integer(), nullable=False),
    sa.Column('security', sa.String(length=16), nullable=False),
    sa.Column('username', sa.String(length=255), nullable=False),
    sa.Column('password_sealed', sa.Text(), nullable=False),
    sa.Column('folder', sa.String(length=200), nullable=False),
    sa.Column('processed_folder', sa.String(length=200), nullable=False),
    sa.Column('poll_seconds', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mailboxes')),
    sa.UniqueConstraint('host', 'username', 'folder', name='uq_mailboxes_host_username_folder')
    )


def downgrade():
    op.drop_table('mailboxes')
