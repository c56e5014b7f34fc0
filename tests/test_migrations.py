"""Alembic's head builds exactly the models' schema, on an empty database of each kind."""
import uuid

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select, text
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


def test_upgrading_a_desk_filled_at_the_previous_head_keeps_every_mail_row(empty_database_url, tmp_path):
    """Mail's tables moved to their own domain (0012): a desk with mail taken before keeps every row, and a
    message taken then is still recognised when it is fetched again (its digest worked out from its file)."""
    from helpdesk.core.storage import BlobStore
    from helpdesk.mail.intake import ingest
    from helpdesk.mail.models import HeldKind, HeldMail, HeldStatus, Mailbox, MailboxState, OutcomeKind, ReceivedMail

    app = create_app(settings(tmp_path / "instance", empty_database_url))
    raw = (b"From: tecnica@vic.cat\nTo: suportparticipa311@diba.cat\nSubject: Consulta\n"
           b"Message-ID: <abans@vic.cat>\n\nBon dia.\n")
    with app.app_context():
        flask_migrate.upgrade(revision="0011")
        sha256 = BlobStore(tmp_path / "instance" / "attachments").put(raw)
        when = "2026-11-30 10:00:00+00:00"
        with db.engine.begin() as connection:
            for number in range(1, 251):  # more than a chunk of intake
                connection.execute(text(
                    "INSERT INTO received_mail (mailbox, message_id, raw_sha256, size, received_at, outcome) "
                    "VALUES ('inbox', :id, :sha, 10, :when, 'new_ticket')"),
                    {"id": "<abans@vic.cat>" if number == 1 else f"<m{number}@vic.cat>",
                     "sha": sha256 if number == 1 else "0" * 64, "when": when})
            connection.execute(text(
                "INSERT INTO held_mail (kind, status, mailbox, message_id, from_address, subject, reason, raw_sha256,"
                " size, received_at) VALUES ('filtered', 'held', 'inbox', '<fora@vic.cat>', 'fora@vic.cat',"
                " 'Fora de l''oficina', 'auto_reply', :sha, 10, :when), ('quarantined', 'discarded', 'inbox', '',"
                " '', '', 'unreadable', :sha, 10, :when)"), {"sha": "1" * 64, "when": when})
            connection.execute(text(
                "INSERT INTO mailbox_states (name, uidvalidity, last_uid, last_error, is_idling) "
                "VALUES ('suport@imap.diba.cat/INBOX', 7, 4211, '', false)"))
            connection.execute(text(
                "INSERT INTO mailboxes (host, port, security, username, password_sealed, folder, processed_folder,"
                " poll_seconds, is_active, created_at, updated_at) VALUES ('imap.diba.cat', 993, 'ssl', 'suport',"
                " 'sealed', 'INBOX', '', 60, true, :when, :when)"), {"when": when})
        flask_migrate.upgrade()
        assert db.session.scalar(select(func.count(ReceivedMail.id))) == 250
        first = db.session.scalar(select(ReceivedMail).where(ReceivedMail.message_id == "<abans@vic.cat>"))
        assert first.outcome is OutcomeKind.NEW_TICKET and first.content_digest is None
        assert not first.is_message_id_reused
        held = db.session.scalars(select(HeldMail).order_by(HeldMail.id)).all()
        assert [(item.kind, item.status) for item in held] == [(HeldKind.FILTERED, HeldStatus.HELD),
                                                              (HeldKind.QUARANTINED, HeldStatus.DISCARDED)]
        assert db.session.get(MailboxState, "suport@imap.diba.cat/INBOX").last_uid == 4211
        assert db.session.scalar(select(Mailbox.host)) == "imap.diba.cat"
        assert ingest(raw, "inbox").kind == "duplicate"  # taken before the upgrade, recognised after it
        assert db.session.get(ReceivedMail, first.id).content_digest is not None
        db.session.remove()
        db.engine.dispose()


def test_upgrading_to_server_side_sessions_keeps_every_account_and_its_password(empty_database_url, tmp_path):
    """Accounts moved to sessions on the server and Argon2id (0016): the users of before keep their accounts
    and sign in with the passwords they had (their scrypt hash is upgraded then); their old sessions are gone."""
    from werkzeug.security import generate_password_hash

    from helpdesk.auth.models import User
    from tests.conftest import Client

    app = create_app(settings(tmp_path / "instance", empty_database_url))
    app.test_client_class = Client
    with app.app_context():
        flask_migrate.upgrade(revision="0015")
        with db.engine.begin() as connection:
            for number in range(1, 4):
                connection.execute(text(
                    "INSERT INTO users (email, name, password_hash, role, language, is_active, session_token,"
                    " created_at, updated_at) VALUES (:email, :name, :hash, 'agent', 'ca', true, :token, :when,"
                    " :when)"), {"email": f"agent{number}@example.org", "name": f"Agent {number}",
                                 "hash": generate_password_hash("Old-Password-311"), "token": f"token-{number}",
                                 "when": "2026-11-30 10:00:00+00:00"})
            connection.execute(text("INSERT INTO login_failures (email, address, at) VALUES "
                                    "('agent1@example.org', '192.0.2.1', '2026-11-30 10:00:00+00:00')"))
        flask_migrate.upgrade()
        assert db.session.scalar(select(func.count(User.id))) == 3
        client = app.test_client()
        assert client.login("agent2@example.org", "Old-Password-311").status_code == 302
        assert db.session.scalar(select(User.password_hash).where(User.email == "agent2@example.org")) \
            .startswith("$argon2id$")
        db.session.remove()
        db.engine.dispose()


def test_upgrading_to_translated_data_keeps_every_name_and_reply(empty_database_url, tmp_path):
    """Policy names and canned replies in three languages (0021): what was there stays as the Catalan version;
    the policies the desk shipped and nobody renamed get their Spanish and English names, the others none."""
    from helpdesk.sla.models import SlaPolicy
    from helpdesk.tickets.canned import text_in
    from helpdesk.tickets.models import CannedReply

    app = create_app(settings(tmp_path / "instance", empty_database_url))
    with app.app_context():
        flask_migrate.upgrade(revision="0020")
        with db.engine.begin() as connection:
            connection.execute(text("UPDATE sla_policies SET name = 'Caiguda de la plataforma' "
                                    "WHERE category = 'outage'"))  # renamed by an administrator
            connection.execute(text(
                "INSERT INTO sla_policies (name, category, priority, calendar_id, first_response_minutes,"
                " resolution_minutes, notes, created_at, updated_at) SELECT 'Incidència urgent', 'incident',"
                " 'urgent', calendar_id, 60, 240, '', created_at, updated_at FROM sla_policies"
                " WHERE category = 'incident'"))
            connection.execute(text(
                "INSERT INTO canned_replies (title, body, is_active, created_at, updated_at) VALUES"
                " ('Sol·licitud rebuda', 'Bon dia {requester_name}.', true, :when, :when)"),
                {"when": "2026-11-30 10:00:00+00:00"})
        flask_migrate.upgrade(revision="0021")
        names = {row.name: (row.name_es, row.name_en) for row in db.session.scalars(select(SlaPolicy))}
        assert len(names) == 9
        assert names["Incidència tècnica"] == ("Incidencia técnica", "Technical incident")
        assert names["Per defecte"] == ("Por defecto", "Default")
        assert names["Caiguda de la plataforma"] == ("", "") and names["Incidència urgent"] == ("", "")
        renamed = db.session.scalar(select(SlaPolicy).where(SlaPolicy.category == "outage"))
        assert renamed.name_in("en") == "Caiguda de la plataforma"  # the administrator's name, in Catalan
        reply = db.session.scalar(select(CannedReply))
        assert text_in(reply, "es") == ("Sol·licitud rebuda", "Bon dia {requester_name}.") and not reply.translations
        db.session.remove()  # its reads would hold the tables the downgrade drops (PostgreSQL locks them)
        flask_migrate.downgrade(revision="0020")
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM sla_policies")).scalar() == 9
        db.session.remove()
        db.engine.dispose()
