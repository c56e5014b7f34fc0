"""The app factory and its settings: defaults, instance/config.py, environment, and clear refusals."""
import pytest
from sqlalchemy import text as sql
from sqlalchemy.exc import IntegrityError

from helpdesk import config, create_app
from helpdesk.config import ConfigError
from helpdesk.extensions import db
from tests.conftest import SECRET_KEY


def load(tmp_path, environ=None, file=None, **overrides):
    if file is not None:
        (tmp_path / "config.py").write_text(file)
    return config.load(tmp_path, overrides, environ=environ or {})


def test_defaults_then_instance_file_then_environment(tmp_path):
    values = load(tmp_path, file=f'SECRET_KEY = "{SECRET_KEY}"\nPORT = 6000\nPAGE_SIZE = 10\n',
                  environ={"HELPDESK_PORT": "7000"})
    assert values["PORT"] == 7000  # the environment wins over the file
    assert values["PAGE_SIZE"] == 10  # the file wins over the default
    assert values["DEFAULT_LANGUAGE"] == "ca"
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'helpdesk.sqlite3'}"


def test_postgresql_urls_use_psycopg_3(tmp_path):
    values = load(tmp_path, environ={"HELPDESK_SECRET_KEY": SECRET_KEY,
                                     "HELPDESK_DATABASE_URL": "postgresql://desk@db.example/helpdesk"})
    assert values["DATABASE_URL"] == "postgresql+psycopg://desk@db.example/helpdesk"


@pytest.mark.parametrize("environ, message", [
    ({}, "HELPDESK_SECRET_KEY: not set"),
    ({"HELPDESK_SECRET_KEY": "short"}, "HELPDESK_SECRET_KEY: too short"),
    ({"HELPDESK_SECRET_KEY": SECRET_KEY, "HELPDESK_DATABASE_URL": "not a url"}, "HELPDESK_DATABASE_URL: not a database URL"),
    ({"HELPDESK_SECRET_KEY": SECRET_KEY, "HELPDESK_DATABASE_URL": "mysql://x/y"}, "HELPDESK_DATABASE_URL: unsupported database"),
    ({"HELPDESK_SECRET_KEY": SECRET_KEY, "HELPDESK_PORT": "http"}, "HELPDESK_PORT: expected a whole number"),
    ({"HELPDESK_SECRET_KEY": SECRET_KEY, "HELPDESK_PORT": "70000"}, "HELPDESK_PORT: must be between 1 and 65535"),
    ({"HELPDESK_SECRET_KEY": SECRET_KEY, "HELPDESK_SESSION_COOKIE_SECURE": "maybe"}, "HELPDESK_SESSION_COOKIE_SECURE"),
    ({"HELPDESK_SECRET_KEY": SECRET_KEY, "HELPDESK_TIMEZONE": "Mars/Olympus"}, "HELPDESK_TIMEZONE: unknown time zone"),
    ({"HELPDESK_SECRET_KEY": SECRET_KEY, "HELPDESK_DEFAULT_LANGUAGE": "fr"}, "HELPDESK_DEFAULT_LANGUAGE"),
])
def test_a_bad_setting_is_named_in_one_line(tmp_path, environ, message):
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, environ=environ)
    assert str(refused.value).startswith(message)
    assert "\n" not in str(refused.value)


def test_an_unknown_or_broken_instance_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="HELPDESK_SECRETKEY: unknown setting"):
        load(tmp_path, file='SECRETKEY = "typo"\n')
    with pytest.raises(ConfigError, match="could not be read"):
        load(tmp_path, file="SECRET_KEY = \n")


def test_sqlite_runs_with_foreign_keys_and_write_ahead_logging(app):
    if db.engine.name != "sqlite":
        pytest.skip("SQLite pragmas: runs in the SQLite half of `make test`")
    assert db.session.execute(sql("PRAGMA foreign_keys")).scalar() == 1
    assert db.session.execute(sql("PRAGMA journal_mode")).scalar() == "wal"
    with pytest.raises(IntegrityError, match="FOREIGN KEY"):
        db.session.execute(sql("INSERT INTO contacts (council_id, name, position, is_technical_referent, "
                               "created_at, updated_at) VALUES (999, 'x', '', 0, '2026-01-01', '2026-01-01')"))
    db.session.rollback()


def test_pages_carry_security_headers_and_the_health_check_reaches_the_database(client):
    response = client.get("/healthz")
    assert response.json == {"status": "ok"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_assets_are_served_by_the_app_itself(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/static/desk.css"' in page
    assert "http://" not in page.replace("http://www.w3.org", "") and "https://" not in page
    with client.get("/static/desk.css") as stylesheet:
        assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"


def test_create_app_refuses_a_bad_setting(tmp_path):
    with pytest.raises(ConfigError, match="HELPDESK_DATABASE_URL"):
        create_app({"INSTANCE_PATH": tmp_path, "SECRET_KEY": SECRET_KEY, "DATABASE_URL": "oracle://x/y"})
