"""mailboxes sign in with a password or OAuth2; rotated OAuth2 refresh tokens kept sealed

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

Every mailbox there is keeps signing in with its password (auth_method 'password').
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('auth_method', sa.String(length=16), nullable=False,
                                      server_default='password'))
        batch_op.add_column(sa.Column('oauth2_grant', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('oauth2_token_url', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('oauth2_client_id', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('oauth2_client_secret_sealed', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('oauth2_scope', sa.String(length=500), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('oauth2_refresh_token_sealed', sa.Text(), nullable=False, server_default=''))
    op.create_table('oauth2_refresh_tokens',
    sa.Column('grant_key', sa.String(length=64), nullable=False),
    sa.Column('token_sealed', sa.Text(), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('grant_key', name=op.f('pk_oauth2_refresh_tokens'))
    )


def downgrade():
    op.drop_table('oauth2_refresh_tokens')
    # An OAuth2 mailbox has no password to fall back on: it stays, inactive, to be given one.
    op.execute("UPDATE mailboxes SET is_active = false WHERE auth_method = 'oauth2'")
    with op.batch_alter_table('mailboxes', schema=None) as batch_op:
        batch_op.drop_column('oauth2_refresh_token_sealed')
        batch_op.drop_column('oauth2_scope')
        batch_op.drop_column('oauth2_client_secret_sealed')
        batch_op.drop_column('oauth2_client_id')
        batch_op.drop_column('oauth2_token_url')
        batch_op.drop_column('oauth2_grant')
        batch_op.drop_column('auth_method')
