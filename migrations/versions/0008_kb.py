"""knowledge base: articles, language versions, their history, readers' events

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('kb_articles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=100), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('is_public', sa.Boolean(), nullable=False),
    sa.Column('is_published', sa.Boolean(), nullable=False),
    sa.Column('reviewed_on', sa.Date(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('views', sa.Integer(), nullable=False),
    sa.Column('useful_yes', sa.Integer(), nullable=False),
    sa.Column('useful_no', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_articles_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_articles')),
    sa.UniqueConstraint('slug', name=op.f('uq_kb_articles_slug'))
    )
    with op.batch_alter_table('kb_articles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_articles_category'), ['category'], unique=False)
    op.create_table('kb_article_texts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_texts_article_id_kb_articles')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_texts')),
    sa.UniqueConstraint('article_id', 'language', name='uq_kb_article_texts_article_language')
    )
    with op.batch_alter_table('kb_article_texts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_article_texts_article_id'), ['article_id'], unique=False)
    op.create_table('kb_article_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('text_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['text_id'], ['kb_article_texts.id'], name=op.f('fk_kb_article_versions_text_id_kb_article_texts')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_kb_article_versions_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_versions')),
    sa.UniqueConstraint('text_id', 'version', name='uq_kb_article_versions_text_version')
    )
    with op.batch_alter_table('kb_article_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kb_article_versions_text_id'), ['text_id'], unique=False)
    op.create_table('kb_article_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('article_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['article_id'], ['kb_articles.id'], name=op.f('fk_kb_article_events_article_id_kb_articles')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_kb_article_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kb_article_events'))
    )
    with op.batch_alter_table('kb_article_events', schema=None) as batch_op:
        batch_op.create_index('ix_kb_article_events_kind_created', ['kind', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_article_events_article_id'), ['article_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_kb_article_events_user_id'), ['user_id'], unique=False)


def downgrade():
    op.drop_table('kb_article_events')
    op.drop_table('kb_article_versions')
    op.drop_table('kb_article_texts')
    op.drop_table('kb_articles')
