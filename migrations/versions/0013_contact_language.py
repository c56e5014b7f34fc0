"""contacts say which language the desk writes to them in

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04

Empty for every contact so far: the desk's default language (Catalan), as their mail was written in.
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('language')
