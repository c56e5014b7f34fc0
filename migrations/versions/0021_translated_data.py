"""data shipped in Catalan, Spanish and English: SLA policy names, categories, canned replies

SLA policies get a Spanish and an English name beside the Catalan one (``name``, kept as it is); the
policies this desk shipped (0003) and nobody renamed get their names in both. Canned replies get a table for
their Spanish and English versions (the Catalan stays in the reply). Ticket categories are a gettext enum:
nothing to store.

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

# The policies 0003 shipped, by category (None: the default policy): Catalan name → (Spanish, English).
# A policy whose Catalan name an administrator changed keeps it and gets nothing: the new name is theirs.
SHIPPED_POLICY_NAMES = {
    "outage": ("Caiguda", "Caída", "Outage"),
    "incident": ("Incidència tècnica", "Incidencia técnica", "Technical incident"),
    "configuration": ("Consulta de configuració", "Consulta de configuración", "Configuration question"),
    "usage": ("Consulta d'ús", "Consulta de uso", "Usage question"),
    "catalogue": ("Sol·licitud del Catàleg", "Solicitud del Catálogo", "Catalogue request"),
    "accompaniment": ("Acompanyament", "Acompañamiento", "Accompaniment"),
    "other": ("Altres", "Otros", "Other"),
    None: ("Per defecte", "Por defecto", "Default"),
}


def upgrade():
    with op.batch_alter_table('sla_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_es', sa.String(length=120), server_default='', nullable=False))
        batch_op.add_column(sa.Column('name_en', sa.String(length=120), server_default='', nullable=False))

    op.create_table('canned_reply_texts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('canned_reply_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['canned_reply_id'], ['canned_replies.id'],
                            name=op.f('fk_canned_reply_texts_canned_reply_id_canned_replies'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_reply_texts')),
    sa.UniqueConstraint('canned_reply_id', 'language', name='uq_canned_reply_texts_reply_language')
    )
    with op.batch_alter_table('canned_reply_texts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_reply_texts_canned_reply_id'), ['canned_reply_id'], unique=False)

    policies = sa.table("sla_policies", sa.column("name", sa.String), sa.column("name_es", sa.String),
                        sa.column("name_en", sa.String), sa.column("category", sa.String),
                        sa.column("priority", sa.String))
    for category, (catalan, spanish, english) in SHIPPED_POLICY_NAMES.items():
        same_category = policies.c.category.is_(None) if category is None else policies.c.category == category
        op.execute(policies.update()
                   .where(same_category, policies.c.priority.is_(None), policies.c.name == catalan)
                   .values(name_es=spanish, name_en=english))


def downgrade():
    with op.batch_alter_table('canned_reply_texts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_reply_texts_canned_reply_id'))
    op.drop_table('canned_reply_texts')

    with op.batch_alter_table('sla_policies', schema=None) as batch_op:
        batch_op.drop_column('name_en')
        batch_op.drop_column('name_es')
