"""operations: each scheduler job's last run; each mailbox's last good fetch, last error's time, IDLE

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23

"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('is_ok', sa.Boolean(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('mailbox_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('is_idling', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('mailbox_states', schema=None) as batch_op:
        batch_op.alter_column('is_idling', server_default=None)
    # What is known already: a state without an error was last fetched when it was last checked.
    op.execute("UPDATE mailbox_states SET fetched_at = checked_at WHERE last_error = ''")
    op.execute("UPDATE mailbox_states SET failed_at = checked_at WHERE last_error <> ''")


def downgrade():
    with op.batch_alter_table('mailbox_states', schema=None) as batch_op:
        for name in ('is_idling', 'failed_at', 'fetched_at'):
            batch_op.drop_column(name)
    op.drop_table('job_runs')
