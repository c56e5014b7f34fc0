"""service catalogue: resources, calls, requests, grants, renewal reminders

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None



def stamps():
    return [sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False)]


def upgrade():
    resources = op.create_table('catalog_resources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('requirements', sa.JSON(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    *stamps(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_resources')),
    sa.UniqueConstraint('code', name=op.f('uq_catalog_resources_code'))
    )
    op.create_table('catalog_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=False),
    *stamps(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_calls')),
    sa.UniqueConstraint('year', name=op.f('uq_catalog_calls_year'))
    )
    op.create_table('catalog_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('project_kind', sa.String(length=32), nullable=True),
    sa.Column('project_title', sa.String(length=200), nullable=False),
    sa.Column('project_description', sa.Text(), nullable=False),
    sa.Column('project_starts_on', sa.Date(), nullable=True),
    sa.Column('referent_contact_id', sa.Integer(), nullable=True),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('desired_host', sa.String(length=255), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('accepts_terms', sa.Boolean(), nullable=False),
    sa.Column('renews_grant_id', sa.Integer(), nullable=True),
    sa.Column('manager_message', sa.Text(), nullable=False),
    sa.Column('council_answer', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    *stamps(),
    sa.ForeignKeyConstraint(['council_id'], ['councils.id'], name=op.f('fk_catalog_requests_council_id_councils')),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resources.id'], name=op.f('fk_catalog_requests_resource_id_catalog_resources')),
    sa.ForeignKeyConstraint(['referent_contact_id'], ['contacts.id'], name=op.f('fk_catalog_requests_referent_contact_id_contacts')),
    sa.ForeignKeyConstraint(['instance_id'], ['platform_instances.id'], name=op.f('fk_catalog_requests_instance_id_platform_instances')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_catalog_requests_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_requests'))
    )
    with op.batch_alter_table('catalog_requests', schema=None) as batch_op:
        batch_op.create_index('ix_catalog_requests_council_year', ['council_id', 'resource_id', 'year'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_requests_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_requests_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_requests_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_requests_year'), ['year'], unique=False)
    op.create_table('catalog_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('council_id', sa.Integer(), nullable=False),
    sa.Column('resource_id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('renewals', sa.Integer(), nullable=False),
    sa.Column('provisioning_ticket_id', sa.Integer(), nullable=True),
    sa.Column('lapsed_on', sa.Date(), nullable=True),
    *stamps(),
    sa.ForeignKeyConstraint(['council_id'], ['councils.id'], name=op.f('fk_catalog_grants_council_id_councils')),
    sa.ForeignKeyConstraint(['resource_id'], ['catalog_resources.id'], name=op.f('fk_catalog_grants_resource_id_catalog_resources')),
    sa.ForeignKeyConstraint(['instance_id'], ['platform_instances.id'], name=op.f('fk_catalog_grants_instance_id_platform_instances')),
    sa.ForeignKeyConstraint(['request_id'], ['catalog_requests.id'], name=op.f('fk_catalog_grants_request_id_catalog_requests')),
    sa.ForeignKeyConstraint(['provisioning_ticket_id'], ['tickets.id'], name=op.f('fk_catalog_grants_provisioning_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_grants'))
    )
    with op.batch_alter_table('catalog_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_grants_council_id'), ['council_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_grants_instance_id'), ['instance_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_grants_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_catalog_grants_ends_on'), ['ends_on'], unique=False)
    with op.batch_alter_table('catalog_requests', schema=None) as batch_op:
        batch_op.create_foreign_key(batch_op.f('fk_catalog_requests_renews_grant_id_catalog_grants'),
                                    'catalog_grants', ['renews_grant_id'], ['id'])
    op.create_table('catalog_renewal_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('grant_id', sa.Integer(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('days_before', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['catalog_grants.id'], name=op.f('fk_catalog_renewal_reminders_grant_id_catalog_grants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_renewal_reminders')),
    sa.UniqueConstraint('grant_id', 'ends_on', 'days_before', name='uq_catalog_renewal_reminders')
    )
    with op.batch_alter_table('catalog_renewal_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_renewal_reminders_grant_id'), ['grant_id'], unique=False)

    now = datetime.now(timezone.utc)
    op.bulk_insert(resources, [{
        'code': 'participa311', 'name': 'Plataforma Participa311', 'is_active': True,
        'description': "Instància del programari lliure Decidim, sota el nom de Participa311, per dissenyar i "
                       "gestionar processos, espais i òrgans de participació, consultes i iniciatives; proposar i "
                       "prioritzar; deliberar; i fer el seguiment de projectes. Recurs material del Catàleg de "
                       "Serveis, de prestació continuada amb renovació cada dos anys: allotjament, manteniment, "
                       "assessorament, formació i suport per telèfon i correu electrònic.",
        'requirements': ["Disposar d'un projecte associat a la plataforma (un procés participatiu, la "
                         "digitalització d'espais o òrgans de participació, una consulta ciutadana, etc.).",
                         "Disposar d'un/a referent tècnic municipal que gestioni la plataforma."],
        'created_at': now, 'updated_at': now}])


def downgrade():
    with op.batch_alter_table('catalog_requests', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_catalog_requests_renews_grant_id_catalog_grants'), type_='foreignkey')
    op.drop_table('catalog_renewal_reminders')
    op.drop_table('catalog_grants')
    op.drop_table('catalog_requests')
    op.drop_table('catalog_calls')
    op.drop_table('catalog_resources')
