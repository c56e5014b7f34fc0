"""Alembic's head builds exactly the models' schema, on an empty database of each kind."""
import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from helpdesk import create_app
from helpdesk.core.search import include_in_migrations
from helpdesk.extensions import db
from tests.conftest import POSTGRES_URL, settings


@pytest.fixture
def empty_database_url(tmp_path):
    if not POSTGRES_URL:
        yield f"sqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    name = f"helpdesk_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_upgrade_head_on_an_empty_database_matches_the_models(empty_database_url, tmp_path):
    app = create_app(settings(tmp_path / "instance", empty_database_url))
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "include_name": include_in_migrations})
            differences = compare_metadata(context, db.metadata)
        tables = set(db.metadata.tables)
        db.engine.dispose()
    assert differences == []
    assert {"councils", "contacts", "users", "platform_instances", "audit_events", "tickets", "messages"} <= tables


def test_downgrade_to_base_and_back(empty_database_url, tmp_path):
    app = create_app(settings(tmp_path / "instance", empty_database_url))
    with app.app_context():
        flask_migrate.upgrade()
        flask_migrate.downgrade(revision="base")
        flask_migrate.upgrade()
        db.engine.dispose()
