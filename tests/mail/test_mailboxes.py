"""Mailboxes: TLS against a real Dovecot (IMAPS, STARTTLS, certificate checked), configured by
administrators (password sealed and never shown, connection tried), fetched by the scheduler's pool."""
import time

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.mail import imap
from helpdesk.mail.models import Mailbox, MailboxSettings, configured_mailboxes
from helpdesk.core.sealing import SealBroken, seal, unseal
from helpdesk.extensions import db
from helpdesk.mail.fetching import FetcherPool
from tests import factories
from tests.dovecot import PASSWORD, USER
from tests.pages import error_after, text
from tests.mail.test_fetching import message, running, tickets, wait_for


def tls_settings(server, security, ca_file):
    port = server.tls_port if security == "ssl" else server.port
    return MailboxSettings(host="127.0.0.1", port=port, security=security, username=USER, password=PASSWORD,
                                timeout=10, ca_file=ca_file)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_mail_is_fetched_over_tls_and_the_certificate_is_checked(app, tls_dovecot, fetchers, security):
    tls_dovecot.append(message("Per TLS"))
    trusted = fetchers(tls_settings(tls_dovecot, security, str(tls_dovecot.certificate)))
    assert trusted.fetch_once() == 1
    assert tickets() == ["Per TLS"]
    assert trusted.connection.sock.version().startswith("TLSv1.")  # the session really is encrypted
    stranger = fetchers(tls_settings(tls_dovecot, security, None))  # the system's CAs do not know this server
    with pytest.raises(imap.ImapError, match="certificate verify failed"):
        stranger.fetch_once()


def test_idle_over_starttls_delivers_within_seconds(app, tls_dovecot, fetchers):
    fetcher = fetchers(tls_settings(tls_dovecot, "starttls", str(tls_dovecot.certificate)), idle_seconds=30)
    stop, thread = running(app, fetcher)
    try:
        time.sleep(1)
        began = time.monotonic()
        tls_dovecot.append(message("Xifrat i a l'instant"))
        assert wait_for(lambda: tickets() == ["Xifrat i a l'instant"], 10)
        assert time.monotonic() - began < 5
    finally:
        stop.set()
        fetcher.interrupt()
        thread.join(10)
    assert not thread.is_alive()  # interrupting ends the IDLE at once


def test_passwords_are_sealed_with_the_secret_key():
    token = seal("contrasenya", "a" * 32)
    assert "contrasenya" not in token
    assert unseal(token, "a" * 32) == "contrasenya"
    with pytest.raises(SealBroken):
        unseal(token, "b" * 32)


def admin(client):
    factories.user(Role.ADMIN, email="admin@example.org")
    client.login("admin@example.org", factories.PASSWORD)


def form(server, **changes):
    return {"host": "127.0.0.1", "port": str(server.port), "security": "none", "username": USER,
            "password": PASSWORD, "folder": "INBOX", "processed_folder": "", "poll_seconds": "30",
            "is_active": "y", **changes}


def test_an_administrator_adds_a_mailbox_and_tries_it(client, app, dovecot):
    admin(client)
    client.get("/admin/mail/mailboxes/new")
    response = client.submit("/admin/mail/mailboxes/new", form(dovecot, port="99999", host="no és un servidor"))
    assert response.status_code == 422
    page = text(response)
    assert error_after(page, "port") == "El nombre ha d'estar entre 1 i 65535."
    response = client.submit("/admin/mail/mailboxes/new", form(dovecot, host="no és un servidor"))
    assert error_after(text(response), "host") == "«no és un servidor» no és un nom ni una adreça de servidor."
    assert db.session.scalar(select(Mailbox)) is None  # nothing saved

    response = client.submit("/admin/mail/mailboxes/new", form(dovecot), follow_redirects=True)
    page = text(response)
    assert f"Bústia {USER}@127.0.0.1/INBOX desada" in page
    assert PASSWORD not in page  # never shown back
    mailbox = db.session.scalar(select(Mailbox))
    assert PASSWORD not in mailbox.password_sealed
    dovecot.append(message("Ja hi som"))
    page = text(client.submit(f"/admin/mail/mailboxes/{mailbox.id}/try", follow_redirects=True))
    assert "Connectat: 1 missatges a INBOX; el correu nou arriba en pocs segons (IDLE)." in page

    # Saving without a password keeps the old one; a wrong one is reported when tried.
    client.submit(f"/admin/mail/mailboxes/{mailbox.id}", form(dovecot, password="", poll_seconds="45"))
    page = text(client.submit(f"/admin/mail/mailboxes/{mailbox.id}/try", follow_redirects=True))
    assert "Connectat: 1 missatges" in page
    client.submit(f"/admin/mail/mailboxes/{mailbox.id}", form(dovecot, password="dolenta"))
    page = text(client.submit(f"/admin/mail/mailboxes/{mailbox.id}/try", follow_redirects=True))
    assert "No s'ha pogut connectar" in page
    page = text(client.get(f"/admin/mail/mailboxes/{mailbox.id}"))
    assert "dolenta" not in page and "••••" in page  # the trail says the password changed, not what it is

    client.submit(f"/admin/mail/mailboxes/{mailbox.id}", form(dovecot, processed_folder="Fet", password=""))
    page = text(client.submit(f"/admin/mail/mailboxes/{mailbox.id}/try", follow_redirects=True))
    assert "No s'ha pogut connectar" in page  # still the wrong password
    client.submit(f"/admin/mail/mailboxes/{mailbox.id}", form(dovecot, processed_folder="Fet"))
    page = text(client.submit(f"/admin/mail/mailboxes/{mailbox.id}/try", follow_redirects=True))
    assert "Connectat, però la carpeta «Fet» no existeix." in page


def test_only_administrators_see_mailboxes(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    assert client.get("/admin/mail/mailboxes").status_code == 403


def test_the_pool_fetches_from_mailboxes_added_in_the_screens_and_stops_when_deactivated(app, dovecot):
    mailbox = Mailbox(host="127.0.0.1", port=dovecot.port, security="none", username=USER,
                           password_sealed=seal(PASSWORD, app.config["SECRET_KEY"]), folder="INBOX",
                           processed_folder="", poll_seconds=5, is_active=True)
    db.session.add(mailbox)
    db.session.commit()
    pool = FetcherPool(app)
    try:
        pool.sync()
        assert [settings.name for settings in pool.running] == [mailbox.name]
        dovecot.append(message("Des de la bústia"))
        assert wait_for(lambda: tickets() == ["Des de la bústia"])
        db.session.get(Mailbox, mailbox.id).is_active = False
        db.session.commit()
        pool.sync()
        assert pool.running == {}
    finally:
        pool.stop_all()


def test_a_password_sealed_under_another_secret_key_is_reported_not_used(app, dovecot):
    db.session.add(Mailbox(host="127.0.0.1", port=dovecot.port, security="none", username=USER,
                                password_sealed=seal(PASSWORD, "una-altra-clau-secreta-0123456789"),
                                folder="INBOX", processed_folder="", poll_seconds=5, is_active=True))
    db.session.commit()
    mailboxes, problems = configured_mailboxes(app.config)
    assert mailboxes == []
    assert problems == [f"{USER}@127.0.0.1/INBOX: sealed with another SECRET_KEY: type the password again"]


def test_the_mailbox_list_shows_an_error_only_until_a_fetch_works_again(client, app, dovecot, fetchers):
    admin(client)
    mailbox = Mailbox(host="127.0.0.1", port=dovecot.port, security="none", username=USER,
                      password_sealed=seal(PASSWORD, app.config["SECRET_KEY"]), folder="INBOX",
                      processed_folder="", poll_seconds=30, is_active=True)
    db.session.add(mailbox)
    db.session.commit()
    [settings], _ = configured_mailboxes(app.config)
    fetcher = fetchers(settings)
    fetcher._failed(ConnectionRefusedError(111, "Connection refused"))  # as the fetcher's loop records a failure
    page = text(client.get("/admin/mail/mailboxes"))
    assert "Connection refused" in page and "funciona" not in page
    time.sleep(0.01)
    assert fetcher.fetch_once() == 0  # the server answers again, with nothing new
    page = text(client.get("/admin/mail/mailboxes"))
    assert "Connection refused" not in page and "funciona" in page
    assert "Connection refused" not in text(client.get(f"/admin/mail/mailboxes/{mailbox.id}"))
