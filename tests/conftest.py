"""Shared fixtures: a fresh database per test (SQLite by default, PostgreSQL when
HELPDESK_TEST_DATABASE_URL is set), the app, a test client that fills in CSRF tokens, factories."""
from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.pool import NullPool
from sqlalchemy.schema import sort_tables
from werkzeug.serving import make_server

from helpdesk import create_app
from helpdesk.extensions import db

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
POSTGRES_URL = os.environ.get("HELPDESK_TEST_DATABASE_URL", "")
SECRET_KEY = "test-secret-key-not-for-production"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')

# The developer's own settings must not leak into the tests.
for _name in [name for name in os.environ if name.startswith("HELPDESK_") and name != "HELPDESK_TEST_DATABASE_URL"]:
    del os.environ[_name]


def settings(instance: Path, url: str, **extra) -> dict:
    # Tests sign in with a password alone and hash cheaply unless they say otherwise: the second factor's
    # own tests turn it on for staff, and a test checks that the real defaults require it.
    return {"INSTANCE_PATH": instance, "DATABASE_URL": url, "SECRET_KEY": SECRET_KEY,
            "SESSION_COOKIE_SECURE": False, "TESTING": True, "SECOND_FACTOR_ROLES": "",
            "PASSWORD_HASH_MEMORY_KIB": 64, "PASSWORD_HASH_TIME_COST": 1, **extra}


def migrate_to_head(url: str, instance: Path) -> None:
    import flask_migrate
    app = create_app(settings(instance, url))
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()


class SQLiteDatabases:
    """Migrated once per session into a template file; each test gets its own copy."""

    kind = "sqlite"

    def __init__(self, workdir: Path) -> None:
        self.template = workdir / "template.sqlite3"
        migrate_to_head(f"sqlite:///{self.template}", workdir / "instance")

    def fresh(self, directory: Path) -> str:
        path = directory / "helpdesk.sqlite3"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"

    def reset(self) -> None:
        pass


class PostgreSQLDatabases:
    """The scratch database, migrated once per session and emptied after each test."""

    kind = "postgresql"

    def __init__(self, workdir: Path) -> None:
        self.url = POSTGRES_URL
        engine = create_engine(self.url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        migrate_to_head(self.url, workdir / "instance")
        self.engine = create_engine(self.url, poolclass=NullPool)
        self.metadata = MetaData()
        self.metadata.reflect(self.engine)
        with self.engine.connect() as connection:
            self.tables = [name for name in self.metadata.tables if name != "alembic_version"]
            # What the migrations seeded (default calendars and policies): put back after each test.
            self.seeded = {name: [dict(row) for row in connection.execute(self.metadata.tables[name].select())
                                  .mappings()] for name in self.tables}
        self.seeded = {name: rows for name, rows in self.seeded.items() if rows}
        # Parents before children; only the seeded tables (all of them would hold a cycle: grants ⇄ requests).
        self.seeded_order = sort_tables([self.metadata.tables[name] for name in self.seeded])

    def fresh(self, directory: Path) -> str:
        return self.url

    def reset(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {', '.join(self.tables)} RESTART IDENTITY CASCADE"))
            for table in self.seeded_order:
                rows = self.seeded[table.name]
                if rows:
                    connection.execute(table.insert(), rows)
                    if "id" in table.c:
                        connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                                f"(SELECT max(id) FROM {table.name}))"))


@pytest.fixture(scope="session")
def databases(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("databases")
    return PostgreSQLDatabases(workdir) if POSTGRES_URL else SQLiteDatabases(workdir)


class Client(FlaskClient):
    """A test client whose every request runs in its own app context, as in production (so a view
    that forgets to commit is caught), and that fills in the CSRF token of the last page on forms."""

    csrf_token: str | None = None

    def open(self, *args, **kwargs):
        db.session.remove()  # the test's own session: what it holds is re-read after the request
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        if response.mimetype == "text/html":
            match = CSRF.search(response.get_data(as_text=True))
            if match:
                self.csrf_token = match.group(1)
        return response

    def submit(self, url: str, data: dict | None = None, **kwargs):
        """POST a form as a browser would: with the CSRF token of a page of this session."""
        if self.csrf_token is None:
            self.get("/login")
        return self.post(url, data={"csrf_token": self.csrf_token, **(data or {})}, **kwargs)

    def login(self, email: str, password: str):
        self.get("/login")
        return self.submit("/login", {"email": email, "password": password})


@pytest.fixture
def app(tmp_path, databases):
    url = databases.fresh(tmp_path)
    app = create_app(settings(tmp_path / "instance", url))
    app.test_client_class = Client
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    databases.reset()


@pytest.fixture
def client(app) -> Client:
    return app.test_client()


@pytest.fixture
def english(app):
    """Messages in English, to assert on them plainly (the desk itself defaults to Catalan)."""
    from flask_babel import force_locale
    with force_locale("en"):
        yield


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture
def browser():
    """Debian's Chromium, headless, driven by Playwright (its own browser download is not used)."""
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is missing: .ci/run installs it")
        pytest.skip("needs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    """The app served on a free loopback port for the browser."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
