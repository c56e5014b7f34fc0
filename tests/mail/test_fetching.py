"""The IMAP fetcher against a real Dovecot: polling, IDLE, reconnecting, crashes, UIDVALIDITY."""
import threading
import time
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import func, select

from helpdesk.mail.models import MailboxSettings
from helpdesk.extensions import db
from helpdesk.mail import fetching
from helpdesk.tickets.models import Ticket
from tests.dovecot import PASSWORD, USER


def settings(server, processed=""):
    return MailboxSettings(host="127.0.0.1", port=server.port, security="none", username=USER, password=PASSWORD,
                           processed_folder=processed, poll_seconds=5, timeout=10)


def message(subject):
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "veina@example.org", "suport@example.org", subject
    mail["Message-ID"] = make_msgid(domain="example.org")
    mail.set_content(f"{subject}: el text")
    return mail.as_bytes()


def tickets():
    db.session.remove()
    return sorted(db.session.scalars(select(Ticket.subject)))


def wait_for(condition, seconds=15):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def running(app, fetcher):
    stop = threading.Event()
    thread = threading.Thread(target=fetcher.run, args=(stop,), daemon=True)
    thread.start()
    return stop, thread


def test_polling_takes_new_mail_once_and_moves_it_to_the_processed_folder(app, dovecot, fetchers):
    dovecot.append(message("Primer"))
    dovecot.append(message("Segon"))
    dovecot.create("Processats")
    fetcher = fetchers(settings(dovecot, processed="Processats"))
    assert fetcher.fetch_once() == 2
    assert tickets() == ["Primer", "Segon"]
    assert fetcher.fetch_once() == 0
    assert dovecot.flags("INBOX") == [] and len(dovecot.flags("Processats")) == 2


def test_a_second_poll_on_the_same_connection_reads_nothing_again(app, dovecot, fetchers, monkeypatch):
    """imaplib2 hands UIDVALIDITY out once: read again, it looked like a new mailbox and everything was re-read."""
    dovecot.append(message("Només un cop"))
    dovecot.create("Correu processat")  # a name with a space must be quoted
    taken = []
    real_ingest = fetching.ingest
    monkeypatch.setattr(fetching, "ingest",
                        lambda raw, mailbox, **options: taken.append(raw) or real_ingest(raw, mailbox, **options))
    fetcher = fetchers(settings(dovecot, processed="Correu processat"))
    assert fetcher.fetch_once() == 1
    assert fetcher.fetch_once() == 0 and fetcher.fetch_once() == 0
    assert len(taken) == 1
    assert dovecot.flags("INBOX") == [] and len(dovecot.flags("Correu processat")) == 1


def test_idle_delivers_a_new_message_within_seconds(app, dovecot, fetchers):
    fetcher = fetchers(settings(dovecot), idle_seconds=30)
    stop, thread = running(app, fetcher)
    try:
        time.sleep(1)
        began = time.monotonic()
        dovecot.append(message("Arriba ara"))
        assert wait_for(lambda: tickets() == ["Arriba ara"], 10)
        assert time.monotonic() - began < 5
    finally:
        stop.set()
        thread.join(35)


def test_the_fetcher_reconnects_after_the_server_restarts(app, dovecot, fetchers):
    fetcher = fetchers(settings(dovecot), idle_seconds=3)
    stop, thread = running(app, fetcher)
    try:
        dovecot.append(message("Abans"))
        assert wait_for(lambda: tickets() == ["Abans"])
        dovecot.stop()
        time.sleep(2)
        dovecot.start()
        dovecot.append(message("Després"))
        assert wait_for(lambda: tickets() == ["Abans", "Després"], 30)
    finally:
        stop.set()
        thread.join(35)


def test_a_crash_between_commit_and_flag_does_not_duplicate(app, dovecot, monkeypatch, fetchers):
    dovecot.append(message("Una vegada"))
    real_ingest = fetching.ingest

    def ingest_then_crash(raw, mailbox, **options):
        real_ingest(raw, mailbox, **options)  # committed …
        raise RuntimeError("power cut")  # … and then the process dies before it records the UID

    monkeypatch.setattr(fetching, "ingest", ingest_then_crash)
    with pytest.raises(RuntimeError):
        fetchers(settings(dovecot)).fetch_once()
    monkeypatch.setattr(fetching, "ingest", real_ingest)
    assert fetchers(settings(dovecot)).fetch_once() == 0  # seen again, recognised as a duplicate
    assert tickets() == ["Una vegada"]
    assert b"\\Seen" in dovecot.flags()[0]  # and now flagged as processed


def test_a_new_uidvalidity_reads_everything_again_without_duplicates(app, dovecot, fetchers):
    dovecot.append(message("Primer"))
    fetcher = fetchers(settings(dovecot))
    assert fetcher.fetch_once() == 1
    fetcher.close()
    dovecot.forget_uids()
    dovecot.append(message("Segon"))
    assert fetchers(settings(dovecot)).fetch_once() == 1
    assert tickets() == ["Primer", "Segon"]
    assert db.session.scalar(select(func.count(Ticket.id))) == 2
