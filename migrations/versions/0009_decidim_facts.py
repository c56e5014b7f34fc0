"""instances: what their Decidim says (names, spaces, last refresh), and the Decidim releases

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

"""
from datetime import date, datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# From shared/fixtures/decidim/NOTES.md §4.2 (upstream supports 0.32.x and 0.31.x since July 2026).
RELEASES = {
    "0.27": ["2022-09-29", "2022-11-15", "2023-02-13", "2023-05-11", "2023-07-27", "2023-12-20", "2024-04-30",
             "2024-07-16", "2024-07-30", "2024-09-10", "2025-03-20"],
    "0.28": ["2023-12-20", "2024-04-30", "2024-07-16", "2024-09-10", "2024-10-02", "2025-02-12", "2025-04-29"],
    "0.29": ["2024-09-10", "2024-10-02", "2025-02-12", "2025-04-29", "2025-06-04", "2025-09-23", "2025-10-28",
             "2025-11-20"],
    "0.30": ["2025-04-29", "2025-06-17", "2025-09-23", "2025-10-28", "2025-11-20", "2026-01-28", "2026-02-26",
             "2026-03-26", "2026-04-24", "2026-05-12"],
    "0.31": ["2025-11-20", "2026-01-28", "2026-02-26", "2026-03-26", "2026-04-24", "2026-05-12"],
    "0.32": ["2026-07-02", "2026-07-30"],
}
SUPPORTED = {"0.31", "0.32"}


def upgrade():
    with op.batch_alter_table('platform_instances', schema=None) as batch_op:
        batch_op.add_column(sa.Column('application_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('organisation_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('spaces', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('facts_checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('facts_error', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('platform_instances', schema=None) as batch_op:
        for name in ('application_name', 'organisation_name', 'spaces', 'facts_error'):
            batch_op.alter_column(name, server_default=None)
    releases = op.create_table('decidim_releases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.Column('released_on', sa.Date(), nullable=False),
    sa.Column('supported', sa.Boolean(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_decidim_releases')),
    sa.UniqueConstraint('version', name=op.f('uq_decidim_releases_version'))
    )
    now = datetime.now(timezone.utc)
    op.bulk_insert(releases, [
        {"version": f"{line}.{patch}", "released_on": date.fromisoformat(day), "supported": line in SUPPORTED,
         "notes": "", "created_at": now, "updated_at": now}
        for line, days in RELEASES.items() for patch, day in enumerate(days)])


def downgrade():
    op.drop_table('decidim_releases')
    with op.batch_alter_table('platform_instances', schema=None) as batch_op:
        for name in ('facts_error', 'facts_checked_at', 'spaces', 'organisation_name', 'application_name'):
            batch_op.drop_column(name)
