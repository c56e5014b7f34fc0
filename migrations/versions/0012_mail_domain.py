"""mail as its own domain: duplicates keyed by content digest too; held mail's kind and status as enums;
messages say when their Message-ID was reused

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

The tables keep their names and rows: only the ledger's unique key gains the digest (empty for the rows
taken before, which intake fills in from the stored files when it meets the same Message-ID again).
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('received_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('content_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('is_message_id_reused', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.drop_constraint('uq_received_mail_mailbox_message_id', type_='unique')
        batch_op.create_unique_constraint('uq_received_mail_mailbox_message_id_content_digest',
                                          ['mailbox', 'message_id', 'content_digest'])
    with op.batch_alter_table('held_mail', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)
        batch_op.alter_column('status', existing_type=sa.String(length=16), type_=sa.String(length=32),
                              existing_nullable=False)
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_message_id_reused', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.create_index('ix_messages_acknowledged_to', ['to_addresses', 'created_at'], unique=False,
                              sqlite_where=sa.text("kind = 'acknowledgement'"),
                              postgresql_where=sa.text("kind = 'acknowledgement'"))


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_acknowledged_to')
        batch_op.drop_column('is_message_id_reused')
    with op.batch_alter_table('held_mail', schema=None) as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
        batch_op.alter_column('kind', existing_type=sa.String(length=32), type_=sa.String(length=16),
                              existing_nullable=False)
    # Reused Message-IDs cannot share the old key: keep the first message of each, as before digests.
    op.execute("DELETE FROM received_mail WHERE id NOT IN (SELECT MIN(id) FROM received_mail "
               "GROUP BY mailbox, message_id)")
    with op.batch_alter_table('received_mail', schema=None) as batch_op:
        batch_op.drop_constraint('uq_received_mail_mailbox_message_id_content_digest', type_='unique')
        batch_op.create_unique_constraint('uq_received_mail_mailbox_message_id', ['mailbox', 'message_id'])
        batch_op.drop_column('is_message_id_reused')
        batch_op.drop_column('content_digest')
