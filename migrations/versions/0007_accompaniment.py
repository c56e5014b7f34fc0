"""accompaniment requests and sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def stamps():
    return [sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False)]


def upgrade():
    op.create_table('accompaniment_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('action', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('needs', sa.JSON(), nullable=False),
    sa.Column('preferred_dates', sa.Text(), nullable=False),
    sa.Column('attendees', sa.Text(), nullable=False),
    sa.Column('assessment', sa.Text(), nullable=False),
    sa.Column('question', sa.Text(), nullable=False),
    sa.Column('council_answer', sa.Text(), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    *stamps(),
    sa.ForeignKeyConstraint(['council_id'], ['councils.id'], name=op.f('fk_accompaniment_requests_council_id_councils')),
    sa.ForeignKeyConstraint(['instance_id'], ['platform_instances.id'], name=op.f('fk_accompaniment_requests_instance_id_platform_instances')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_accompaniment_requests_decided_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_accompaniment_requests_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accompaniment_requests'))
    )
    with op.batch_alter_table('accompaniment_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_accompaniment_requests_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accompaniment_requests_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accompaniment_requests_status'), ['status'], unique=False)
    op.create_table('accompaniment_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('online', sa.Boolean(), nullable=False),
    sa.Column('location', sa.String(length=500), nullable=False),
    sa.Column('adviser_id', sa.Integer(), nullable=False),
    sa.Column('attendees', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('uid', sa.String(length=255), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('notes_for_council', sa.Text(), nullable=False),
    sa.Column('internal_notes', sa.Text(), nullable=False),
    sa.Column('follow_up_actions', sa.Text(), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    *stamps(),
    sa.ForeignKeyConstraint(['request_id'], ['accompaniment_requests.id'], name=op.f('fk_accompaniment_sessions_request_id_accompaniment_requests')),
    sa.ForeignKeyConstraint(['adviser_id'], ['users.id'], name=op.f('fk_accompaniment_sessions_adviser_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accompaniment_sessions')),
    sa.UniqueConstraint('uid', name=op.f('uq_accompaniment_sessions_uid'))
    )
    with op.batch_alter_table('accompaniment_sessions', schema=None) as batch_op:
        batch_op.create_index('ix_accompaniment_sessions_adviser_start', ['adviser_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_accompaniment_sessions_request_id'), ['request_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_accompaniment_sessions_starts_at'), ['starts_at'], unique=False)


def downgrade():
    op.drop_table('accompaniment_sessions')
    op.drop_table('accompaniment_requests')
