"""OAuth2 mailboxes against a real Dovecot whose oauth2 passdb asks a real token introspection endpoint on
loopback (tests/oauth2_provider.py, which is the token endpoint too): mail is fetched with XOAUTH2 or
OAUTHBEARER, tokens are renewed when they expire, rotated refresh tokens are kept, and every refusal is
told in words an administrator can act on, on the mailbox screen and by "Try the connection"."""
import os
import shutil
import time

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.core import oauth2
from helpdesk.core.oauth2 import RefreshToken
from helpdesk.extensions import db
from helpdesk.mail import imap
from helpdesk.mail.models import Mailbox, MailboxSettings, MailboxState
from tests import factories
from tests.dovecot import PASSWORD, USER, Dovecot
from tests.mail.test_fetching import message, running, tickets, wait_for
from tests.oauth2_provider import CLIENT_ID, CLIENT_SECRET, Provider
from tests.pages import error_after, text


@pytest.fixture(autouse=True)
def no_tokens_held():
    oauth2.forget_tokens()  # each test starts as a new process would
    yield
    oauth2.forget_tokens()


@pytest.fixture
def provider():
    server = Provider()
    yield server
    server.stop()


def oauth2_dovecot(provider, mechanisms=("xoauth2", "oauthbearer")):
    if shutil.which("dovecot") is None:
        if os.environ.get("CI"):
            pytest.fail("Debian's dovecot-imapd is missing: .ci/run installs it")
        pytest.skip("needs Dovecot (apt-get install dovecot-imapd)")
    server = Dovecot(oauth2_introspection_url=provider.introspection_url, oauth2_mechanisms=mechanisms)
    server.start()
    return server


@pytest.fixture
def dovecot(provider):
    server = oauth2_dovecot(provider)
    yield server
    server.remove()


@pytest.fixture
def admin(client, app):
    # In English, to assert on the messages plainly; so is the desk's default language, in which the
    # fetcher (no one's request) writes the mailbox's last error.
    app.config["DEFAULT_LANGUAGE"] = "en"
    factories.user(Role.ADMIN, email="admin@example.org", language="en")
    client.login("admin@example.org", factories.PASSWORD)
    return client


def form(server, provider, **changes):
    return {"host": "127.0.0.1", "port": str(server.port), "security": "none", "username": USER,
            "auth_method": "oauth2", "password": "", "oauth2_grant": "client_credentials",
            "oauth2_token_url": provider.token_url, "oauth2_client_id": CLIENT_ID,
            "oauth2_client_secret": CLIENT_SECRET, "oauth2_scope": "https://outlook.office365.com/.default",
            "oauth2_refresh_token": "", "folder": "INBOX", "processed_folder": "", "poll_seconds": "30",
            "is_active": "y", **changes}


def add_mailbox(client, server, provider, **changes):
    client.get("/admin/mail/mailboxes/new")
    response = client.submit("/admin/mail/mailboxes/new", form(server, provider, **changes), follow_redirects=True)
    assert f"Mailbox {USER}@127.0.0.1/INBOX saved" in text(response), text(response)
    db.session.remove()
    return db.session.scalar(select(Mailbox))


def try_it(client, mailbox):
    return text(client.submit(f"/admin/mail/mailboxes/{mailbox.id}/try", follow_redirects=True))


def fetch(app, mailbox, fetchers):
    """One fetch as the scheduler's fetcher makes it, on a connection of its own."""
    fetcher = fetchers(db.session.get(Mailbox, mailbox.id).settings(app.config))
    taken = fetcher.fetch_once()
    fetcher.close()
    return taken


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_mail_of_an_oauth2_mailbox_becomes_tickets_and_an_expired_token_is_renewed(admin, app, provider, fetchers,
                                                                                  mechanism):
    provider.lifetime = 4  # seconds: held for two, renewed after
    server = oauth2_dovecot(provider, mechanisms=(mechanism,))  # a server that offers only this one
    try:
        mailbox = add_mailbox(admin, server, provider)
        page = text(admin.get(f"/admin/mail/mailboxes/{mailbox.id}"))
        assert CLIENT_SECRET not in page and CLIENT_SECRET not in mailbox.oauth2_client_secret_sealed
        assert mailbox.password_sealed == ""  # OAuth2 keeps no password

        server.append(message("Per OAuth2"))
        assert "Connected: 1 messages in INBOX" in try_it(admin, mailbox)
        assert fetch(app, mailbox, fetchers) == 1
        assert tickets() == ["Per OAuth2"]
        assert provider.grants() == ["client_credentials"]  # the try and the fetch: one token
        assert provider.requests[0].scope == "https://outlook.office365.com/.default"
        first_token = provider.introspected[-1]

        time.sleep(4.5)  # the token has expired: Dovecot's introspection would refuse it
        server.append(message("Després de caducar"))
        assert fetch(app, mailbox, fetchers) == 1
        assert tickets() == ["Després de caducar", "Per OAuth2"]
        assert provider.grants() == ["client_credentials", "client_credentials"]
        assert provider.introspected[-1] != first_token
        assert f"method={mechanism.upper()}" in (server.dir / "log").read_text()
    finally:
        server.remove()


def test_a_rotated_refresh_token_is_kept_sealed_and_used_by_the_next_process(admin, app, dovecot, provider, fetchers):
    seed = provider.issue_refresh_token()
    mailbox = add_mailbox(admin, dovecot, provider, oauth2_grant="refresh_token", oauth2_refresh_token=seed,
                          oauth2_client_secret="", oauth2_scope="https://outlook.office365.com/IMAP.AccessAsUser.All "
                                                               "offline_access")
    settings = mailbox.settings(app.config)
    dovecot.append(message("Amb testimoni de refresc"))
    assert fetch(app, mailbox, fetchers) == 1
    assert [request.refresh_token for request in provider.requests] == [seed]
    assert seed not in provider.refresh_tokens  # the provider rotated it: the seed no longer works
    [rotated] = provider.refresh_tokens
    stored = db.session.scalar(select(RefreshToken))
    assert rotated not in stored.token_sealed and seed not in mailbox.oauth2_refresh_token_sealed

    oauth2.forget_tokens()  # another process (the web app, or the scheduler after a restart)
    dovecot.append(message("Després de reiniciar"))
    assert fetch(app, mailbox, fetchers) == 1
    assert [request.refresh_token for request in provider.requests] == [seed, rotated]
    assert tickets() == ["Amb testimoni de refresc", "Després de reiniciar"]
    # The mailbox itself did not change, so its fetcher is not restarted at each rotation.
    assert db.session.get(Mailbox, mailbox.id).settings(app.config) == settings

    # A new refresh token typed by the administrator replaces the rotated one.
    fresh = provider.issue_refresh_token()
    admin.submit(f"/admin/mail/mailboxes/{mailbox.id}",
                 form(dovecot, provider, oauth2_grant="refresh_token", oauth2_refresh_token=fresh,
                      oauth2_client_secret=""))
    assert db.session.scalar(select(RefreshToken)) is None
    oauth2.forget_tokens()
    assert "Connected: 2 messages" in try_it(admin, db.session.get(Mailbox, mailbox.id))
    assert provider.requests[-1].refresh_token == fresh


def test_a_refused_client_is_shown_on_the_mailbox_screen_and_by_try_the_connection(admin, app, dovecot, provider,
                                                                                  fetchers):
    mailbox = add_mailbox(admin, dovecot, provider)
    provider.revoke_client()  # the secret expired, or the registration was deleted
    fetcher = fetchers(mailbox.settings(app.config))
    stop, thread = running(app, fetcher)
    try:
        assert wait_for(lambda: _last_error(mailbox.name))
    finally:
        stop.set()
        fetcher.interrupt()
        thread.join(10)
    advice = ("The provider refused the client (invalid_client: AADSTS7000215: Invalid client secret provided.): "
              "check the client id and the client secret, and that the secret has not expired.")
    assert _last_error(mailbox.name) == advice
    assert advice in text(admin.get(f"/admin/mail/mailboxes/{mailbox.id}"))
    listed = text(admin.get("/admin/mail/mailboxes"))
    assert advice in listed and "Sign-in" in listed and "OAuth2 (Microsoft 365, Google Workspace)" in listed
    assert f"Could not connect: {advice}" in try_it(admin, mailbox)


def test_a_token_the_mail_server_refuses_is_told_as_such(admin, app, dovecot, provider):
    provider.user = "another@test"  # the application was given another mailbox than this one
    mailbox = add_mailbox(admin, dovecot, provider)
    page = try_it(admin, mailbox)
    assert ("Could not connect: The mail server refused the access token for support@test "
            "([AUTHENTICATIONFAILED] Authentication failed.): check that the application may open this mailbox"
            in page)
    assert provider.grants() == ["client_credentials"]  # a token just given is not asked for again


def test_a_held_token_that_was_revoked_is_replaced_at_once(admin, app, dovecot, provider):
    mailbox = add_mailbox(admin, dovecot, provider)
    assert "Connected: 0 messages" in try_it(admin, mailbox)
    provider.revoke_access_tokens()  # e.g. an administrator of the tenant revoked the sessions
    assert "Connected: 0 messages" in try_it(admin, mailbox)
    assert provider.grants() == ["client_credentials", "client_credentials"]


def test_provider_trouble_and_a_dead_refresh_token_are_told_in_words(admin, app, dovecot, provider):
    mailbox = add_mailbox(admin, dovecot, provider)
    provider.is_down = True
    assert ("Could not connect: The token URL answered HTTP 503 instead of a token: check the token URL, or try "
            "again later if the provider is having trouble." in try_it(admin, mailbox))
    provider.is_down = False

    seed = provider.issue_refresh_token()
    admin.submit(f"/admin/mail/mailboxes/{mailbox.id}",
                 form(dovecot, provider, oauth2_grant="refresh_token", oauth2_refresh_token=seed))
    provider.refresh_tokens.clear()  # revoked, or unused for 90 days
    assert ("Could not connect: The provider refused the refresh token (invalid_grant: AADSTS70008: The refresh "
            "token has expired or is invalid.): it has expired or was revoked. Sign in as the mailbox again to get "
            "a new one and type it here." in try_it(admin, db.session.get(Mailbox, mailbox.id)))

    provider.stop()
    page = try_it(admin, db.session.get(Mailbox, mailbox.id))
    assert f"Could not connect: The sign-in provider could not be reached at {provider.token_url}" in page
    assert "try again later, or check the token URL." in page


def test_a_server_without_oauth2_sign_in_is_told_as_such(admin, app, provider):
    plain = Dovecot()  # no oauth2 passdb: offers PLAIN and LOGIN only
    if shutil.which("dovecot") is None:
        pytest.skip("needs Dovecot (apt-get install dovecot-imapd)")
    plain.start()
    try:
        mailbox = add_mailbox(admin, plain, provider)
        assert ("Could not connect: The server does not offer OAuth2 sign-in (AUTH=XOAUTH2 or AUTH=OAUTHBEARER)"
                in try_it(admin, mailbox))
        assert provider.grants() == []  # no token asked for a server that cannot take it
    finally:
        plain.remove()


def test_the_form_asks_for_what_the_chosen_sign_in_needs_and_never_shows_a_secret(admin, app, dovecot, provider):
    admin.get("/admin/mail/mailboxes/new")
    response = admin.submit("/admin/mail/mailboxes/new", form(
        dovecot, provider, oauth2_token_url="http://login.example.org/token", oauth2_client_id="",
        oauth2_client_secret=""))
    assert response.status_code == 422
    page = text(response)
    assert error_after(page, "oauth2_token_url") == ("The token URL must start with https:// (the client secret "
                                                     "travels in it).")
    assert error_after(page, "oauth2_client_id") == "Type the client id of the desk's registration."
    assert error_after(page, "oauth2_client_secret") == ("Type the client secret: the client-credentials grant "
                                                         "needs it.")
    assert error_after(page, "password") == ""  # OAuth2 needs no password
    page = text(admin.submit("/admin/mail/mailboxes/new", form(dovecot, provider, oauth2_grant="refresh_token",
                                                               oauth2_token_url="")))
    assert error_after(page, "oauth2_token_url") == "Type the provider's token URL."
    assert error_after(page, "oauth2_refresh_token") == "Type the refresh token of the mailbox's user."
    assert db.session.scalar(select(Mailbox)) is None

    mailbox = add_mailbox(admin, dovecot, provider)
    # Saving again without the secret keeps it; the trail says what changed, never a secret.
    admin.submit(f"/admin/mail/mailboxes/{mailbox.id}", form(dovecot, provider, oauth2_client_secret="",
                                                             oauth2_scope="https://mail.google.com/"))
    assert "Connected: 0 messages" in try_it(admin, mailbox)
    page = text(admin.get(f"/admin/mail/mailboxes/{mailbox.id}"))
    assert CLIENT_SECRET not in page and "https://mail.google.com/" in page and "••••" in page

    # Back to a password: one must be typed, and the OAuth2 secret is not kept.
    page = text(admin.submit(f"/admin/mail/mailboxes/{mailbox.id}", form(dovecot, provider, auth_method="password",
                                                                         oauth2_client_secret="")))
    assert error_after(page, "password") == "Type the mailbox's password."
    admin.submit(f"/admin/mail/mailboxes/{mailbox.id}", form(dovecot, provider, auth_method="password",
                                                             password=PASSWORD))
    db.session.remove()
    mailbox = db.session.get(Mailbox, mailbox.id)
    assert mailbox.auth_method == "password" and mailbox.oauth2_client_secret_sealed == ""
    assert mailbox.oauth2_token_url == ""
    assert "Connected: 0 messages" in try_it(admin, mailbox)


def test_imap_connect_reports_a_refusal_as_an_imap_error(app, dovecot, provider):
    """What the fetcher records comes from here: an ImapError whose message is the advice itself."""
    provider.revoke_client()
    grant = oauth2.OAuth2Grant(provider.token_url, CLIENT_ID, CLIENT_SECRET)
    settings = MailboxSettings(host="127.0.0.1", port=dovecot.port, security="none", username=USER, password="",
                               timeout=10, oauth2=grant)
    with force_locale("en"), pytest.raises(imap.ImapError, match=r"^The provider refused the client \(invalid_client"):
        imap.connect(settings)


def _last_error(name):
    db.session.remove()
    state = db.session.get(MailboxState, name)
    return state.last_error if state else ""
