"""the platforms' Decidim version history for the renewal dossier

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08
"""
import json

from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    # helpdesk.dossier.models: each Decidim version an instance was seen running, from when.
    op.create_table('instance_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['platform_instances.id'],
                            name=op.f('fk_instance_versions_instance_id_platform_instances')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instance_versions'))
    )
    with op.batch_alter_table('instance_versions', schema=None) as batch_op:
        batch_op.create_index('ix_instance_versions_instance_seen', ['instance_id', 'first_seen_at'], unique=False)
    _seed()


def _seed():
    """The history so far, from the audit trail (each change of an instance's version, with its time), and the
    version each instance runs now where the trail does not end on it (seen first when the instance was made)."""
    bind = op.get_bind()
    instances = sa.table('platform_instances', sa.column('id', sa.Integer), sa.column('decidim_version', sa.String),
                         sa.column('created_at', sa.DateTime(timezone=True)))
    events = sa.table('audit_events', sa.column('id', sa.Integer), sa.column('object_type', sa.String),
                      sa.column('object_id', sa.Integer), sa.column('changes', sa.JSON),
                      sa.column('created_at', sa.DateTime(timezone=True)))
    versions = sa.table('instance_versions', sa.column('instance_id', sa.Integer), sa.column('version', sa.String),
                        sa.column('first_seen_at', sa.DateTime(timezone=True)))
    rows, last = [], {}
    for instance_id, changes, created_at in bind.execute(
            sa.select(events.c.object_id, events.c.changes, events.c.created_at)
            .where(events.c.object_type == 'platform_instances').order_by(events.c.id)):
        if isinstance(changes, str):
            changes = json.loads(changes)
        version = ((changes or {}).get('decidim_version') or {}).get('after')
        if version and last.get(instance_id) != version:
            rows.append({'instance_id': instance_id, 'version': str(version)[:32], 'first_seen_at': created_at})
            last[instance_id] = version
    for instance_id, version, created_at in bind.execute(
            sa.select(instances.c.id, instances.c.decidim_version, instances.c.created_at)
            .where(instances.c.decidim_version != '').order_by(instances.c.id)):
        if last.get(instance_id) != version:
            seen = [row['first_seen_at'] for row in rows if row['instance_id'] == instance_id]
            rows.append({'instance_id': instance_id, 'version': version,
                         'first_seen_at': max(seen + [created_at])})
    if rows:
        op.bulk_insert(versions, rows)


def downgrade():
    with op.batch_alter_table('instance_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_instance_versions_instance_seen')
    op.drop_table('instance_versions')
