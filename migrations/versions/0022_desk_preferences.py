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
    pass


def downgrade():
    pass
