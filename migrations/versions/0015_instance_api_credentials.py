"""instances: optional Decidim API credentials (key and secret, sealed) and the token they obtain

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

Also the desk's OAuth application on each platform (client id, secret sealed), and what the last look at the
platform's API said about access (open, signed in, credentials missing or refused). Every instance there is
starts with no credentials, as before.
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('platform_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_key', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('api_secret_sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('api_token_sealed', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('api_token_expires_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('api_access', sa.String(length=16), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('oauth_client_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('oauth_client_secret_sealed', sa.Text(), nullable=True))
    with op.batch_alter_table('platform_instances', schema=None) as batch_op:
        batch_op.alter_column('api_access', server_default=None)


def downgrade():
    with op.batch_alter_table('platform_instances', schema=None) as batch_op:
        batch_op.drop_column('oauth_client_secret_sealed')
        batch_op.drop_column('oauth_client_id')
        batch_op.drop_column('api_access')
        batch_op.drop_column('api_token_expires_at')
        batch_op.drop_column('api_token_sealed')
        batch_op.drop_column('api_secret_sealed')
        batch_op.drop_column('api_key')
