"""The operations page for administrators, and /health for an outside monitor with its bearer token."""
import threading

import pytest

from helpdesk.auth.models import Role
from helpdesk.mail.models import MailboxSettings, MailboxState
from helpdesk.extensions import db
from helpdesk.mail.fetching import Fetcher
from tests import factories
from tests.pages import text
from tests.mail.test_fetching import wait_for

TOKEN = "a-long-random-health-token-0123456789"


def admin_client(client):
    factories.user(Role.ADMIN, email="admin@example.org", language="en")
    client.login("admin@example.org", factories.PASSWORD)
    return client


def test_an_administrator_sees_each_group_with_its_state_in_words(client):
    page = text(admin_client(client).get("/admin/status"))
    for heading in ("Database", "Mail in", "Mail out", "Held mail", "Scheduler", "Platform monitor", "Storage"):
        assert f"<h2>{heading}</h2>" in page
    assert '<span class="status status-health-down">Problem</span>' in page  # no scheduler has run
    assert "no scheduler has run yet" in page
    assert '<span class="status status-active">OK</span>' in page  # the database, among others
    assert 'href="/admin/status" aria-current="page">Status</a>' in page  # in the administrators' menu


@pytest.mark.parametrize("role", [Role.AGENT, Role.COUNCIL_USER])
def test_others_may_not_open_it(client, role):
    council = factories.council() if role is Role.COUNCIL_USER else None
    factories.user(role, of=council, email="someone@example.org", language="en")
    client.login("someone@example.org", factories.PASSWORD)
    assert client.get("/admin/status").status_code == 403
    assert 'href="/admin/status"' not in text(client.get("/", follow_redirects=True))


def test_health_is_switched_off_without_a_token(client):
    assert client.get("/health", headers={"Authorization": "Bearer "}).status_code == 404


def test_health_wants_the_right_bearer_token(app, client):
    app.config["HEALTH_TOKEN"] = TOKEN
    missing = client.get("/health")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/health", headers={"Authorization": "Bearer not-the-token"}).status_code == 401
    assert client.get("/health", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    response = client.get("/health", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["healthy"] is False and body["status"] == "problem"  # no scheduler holds the lease
    assert "Problem: Scheduler · Leader: — (no scheduler has run yet)" in body["issues"]
    facts = {fact["key"]: fact for fact in body["facts"]}
    assert facts["database.reachable"] == {
        "key": "database.reachable", "group": "database", "subject": "", "name": "Reachable", "value": True,
        "state": "ok", "threshold": "problem when it does not answer", "detail": ""}
    assert {"outbox.oldest", "outbox.backlog", "held.quarantined", "scheduler.heartbeat", "scheduler.job",
            "monitor.round", "storage.free", "database.migrations"} <= set(facts)


def recorded(name, column):
    db.session.remove()
    state = db.session.get(MailboxState, name)
    return state is not None and getattr(state, column)


def fetching(app, settings):
    fetcher, stop = Fetcher(app, settings, idle_seconds=30), threading.Event()
    thread = threading.Thread(target=fetcher.run, args=(stop,), daemon=True)
    thread.start()
    return fetcher, stop, thread


def test_a_fetcher_error_shows_on_the_page_and_a_working_fetch_in_idle_too(app, client, dovecot):
    from tests.dovecot import PASSWORD, USER
    app.config.update(IMAP_HOST="127.0.0.1", IMAP_PORT=dovecot.port, IMAP_SECURITY="none", IMAP_USERNAME=USER,
                      IMAP_PASSWORD="not-the-password")
    settings = MailboxSettings.from_config(app.config)
    fetcher, stop, thread = fetching(app, settings)
    try:
        assert wait_for(lambda: recorded(settings.name, "failed_at"))
    finally:
        stop.set()
        fetcher.interrupt()
        thread.join(35)
    page = text(admin_client(client).get("/admin/status"))
    row = page[page.index(f"{settings.name} · Last error"):]
    row = row[:row.index("</tr>")]
    assert "Problem" in row and "AUTHENTICATIONFAILED" in row

    app.config["IMAP_PASSWORD"] = PASSWORD
    settings = MailboxSettings.from_config(app.config)
    fetcher, stop, thread = fetching(app, settings)
    try:
        assert wait_for(lambda: recorded(settings.name, "is_idling"))
        page = text(client.get("/admin/status"))
    finally:
        stop.set()
        fetcher.interrupt()
        thread.join(35)
    for check, shown in (("Last successful fetch", "OK"), ("IDLE connected", "yes"), ("Last error", "OK")):
        row = page[page.index(f"{settings.name} · {check}"):]
        assert shown in row[:row.index("</tr>")], check
    assert not recorded(settings.name, "is_idling")  # the fetcher stopped: no longer in IDLE
