"""data shipped in Catalan, Spanish and English: SLA policy names, categories, canned replies

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
