"""Mail becomes a ticket within a second or two while the fetcher runs as the scheduler runs it (its own
thread, IDLE on a real Dovecot), also when it arrives while another message is being taken in; and when the
file store fails, the mail waits on the server until the store is back.

Latency is measured from just before the APPEND to the moment the test thread, polling the database, sees
the ticket. ``pytest -s`` prints the figures."""
import imaplib
import re
import statistics
import threading
import time

import pytest
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.mail import fetching
from helpdesk.mail.models import MailboxState, ReceivedMail
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import blob_store
from tests.dovecot import PASSWORD, USER
from tests.mail.test_fetching import message, settings

# Far longer than any bound below: mail left waiting for the IDLE to time out fails the test.
IDLE_SECONDS = 120


class Fetching:
    """A fetcher in its own thread, stopped as the scheduler's pool stops it (stop event, then interrupt)."""

    def __init__(self, fetcher):
        self.fetcher, self.stop = fetcher, threading.Event()
        self.thread = threading.Thread(target=fetcher.run, args=(self.stop,), daemon=True)

    def __enter__(self):
        self.thread.start()
        assert wait_until(lambda: self.state() is not None and self.state().is_idling, 10), "never reached IDLE"
        return self

    def state(self) -> MailboxState | None:
        db.session.remove()
        return db.session.get(MailboxState, self.fetcher.settings.name)

    def __exit__(self, *exc):
        self.stop.set()
        self.fetcher.interrupt()
        self.thread.join(10)
        assert not self.thread.is_alive()


class Appender:
    """One IMAP session of the test's own (the standard library's imaplib) that appends as a mail server would."""

    def __init__(self, server):
        self.client = imaplib.IMAP4("127.0.0.1", server.port)
        self.client.login(USER, PASSWORD)

    def append(self, raw: bytes) -> float:
        began = time.monotonic()
        kind, data = self.client.append("INBOX", None, None, raw)
        assert kind == "OK", data
        return began

    def close(self):
        self.client.logout()


class Tickets:
    """When the test thread first saw each ticket, by subject."""

    def __init__(self):
        self.seen: dict[str, float] = {}

    def look(self) -> None:
        db.session.remove()  # a fresh transaction: the fetcher's commits are visible
        now = time.monotonic()
        for subject in db.session.scalars(select(Ticket.subject)):
            self.seen.setdefault(subject, now)

    def wait(self, subjects, seconds: float, every: float = 0.01) -> bool:
        deadline = time.monotonic() + seconds
        while True:
            self.look()
            if all(subject in self.seen for subject in subjects):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(every)


def wait_until(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def each_once(subjects) -> dict[str, int]:
    """Tickets per subject, for the subjects that are not exactly one ticket."""
    db.session.remove()
    counts = dict(db.session.execute(select(Ticket.subject, func.count()).group_by(Ticket.subject)).all())
    return {subject: counts.get(subject, 0) for subject in subjects if counts.get(subject, 0) != 1}


def report(label: str, latencies: list[float]) -> None:
    print(f"\n{label}: {len(latencies)} messages, median {statistics.median(latencies):.3f} s, "
          f"worst {max(latencies):.3f} s, best {min(latencies):.3f} s")


@pytest.fixture
def appender(dovecot):
    client = Appender(dovecot)
    yield client
    client.close()


def test_messages_one_at_a_time_become_tickets_within_a_second(app, dovecot, fetchers, appender):
    tickets, latencies = Tickets(), []
    with Fetching(fetchers(settings(dovecot), idle_seconds=IDLE_SECONDS)):
        for number in range(20):
            subject = f"Un a un {number}"
            began = appender.append(message(subject))
            assert tickets.wait([subject], 10), f"{subject} did not become a ticket"
            latencies.append(tickets.seen[subject] - began)
        # Flagged after the commit: wait for the last one before stopping (a stop in between is a crash).
        assert wait_until(lambda: sum(b"\\Seen" in item for item in dovecot.flags()) == 20, 5)
    report("one at a time", latencies)
    assert statistics.median(latencies) <= 1 and max(latencies) <= 3
    assert each_once([f"Un a un {number}" for number in range(20)]) == {}


def test_a_message_that_arrives_while_another_is_taken_in_does_not_wait_for_the_idle(app, dovecot, fetchers,
                                                                                      appender, monkeypatch):
    """Deterministic: the fetcher's ingest step is wrapped so that, while the first message of a pair is
    being taken in, the second is appended (from the fetcher's thread, over a session of its own) and the
    ingest then takes a real 0.3 s more. The second's EXISTS reaches the fetcher at the end of one of its
    own commands, never in IDLE."""
    appended: dict[str, float] = {}
    real_ingest = fetching.ingest

    def slow_ingest(raw, mailbox, **options):
        first = re.search(rb"^Subject: (Parella \d+) primer\r?$", raw, re.MULTILINE)
        if first:
            second = f"{first.group(1).decode()} segon"
            appended[second] = time.monotonic()
            dovecot.append(message(second))
            time.sleep(0.3)
        return real_ingest(raw, mailbox, **options)

    monkeypatch.setattr(fetching, "ingest", slow_ingest)
    tickets, firsts, seconds = Tickets(), [], []
    with Fetching(fetchers(settings(dovecot), idle_seconds=IDLE_SECONDS)):
        for number in range(10):
            first, second = f"Parella {number} primer", f"Parella {number} segon"
            began = appender.append(message(first))
            assert tickets.wait([first, second], 10), f"pair {number} did not become two tickets"
            firsts.append(tickets.seen[first] - began)
            seconds.append(tickets.seen[second] - appended[second])
    report("pairs, first (0.3 s of it the test's delay)", firsts)
    report("pairs, second (appended while the first was taken in)", seconds)
    for latencies in (firsts, seconds):
        assert statistics.median(latencies) <= 1 and max(latencies) <= 3
    assert each_once([f"Parella {number} {which}" for number in range(10) for which in ("primer", "segon")]) == {}


def test_a_burst_of_a_hundred_messages_is_taken_in_within_ten_seconds(app, dovecot, fetchers, appender):
    subjects = [f"Ràfega {number}" for number in range(100)]
    raws = [message(subject) for subject in subjects]  # built beforehand: appended as fast as the server takes them
    tickets, appended = Tickets(), []
    with Fetching(fetchers(settings(dovecot), idle_seconds=IDLE_SECONDS)):
        # Appended from a thread of the test's while this one watches the database.
        burst = threading.Thread(target=lambda: appended.extend(appender.append(raw) for raw in raws))
        burst.start()
        # Looked at every 50 ms: finer, the looking itself would slow the fetcher (they share the GIL).
        assert tickets.wait(subjects, 30, every=0.05), f"{len(subjects) - len(tickets.seen)} of the burst never became tickets"
        burst.join()
    whole = max(tickets.seen.values()) - appended[0]
    print(f"\nburst: 100 messages appended in {appended[-1] - appended[0]:.3f} s, all tickets "
          f"{whole:.3f} s after the first APPEND")
    report("burst, each", [tickets.seen[subject] - began for subject, began in zip(subjects, appended)])
    assert whole <= 10
    assert each_once(subjects) == {}


def test_while_the_file_store_fails_mail_waits_on_the_server_and_is_taken_once_it_is_back(app, dovecot, fetchers,
                                                                                           appender):
    """The store fails the way it does for whoever runs the tests: chmod does not stop root (it writes into a
    0500 folder anyway), so the store's folder is set aside and a regular file put in its place; every write
    under it then fails (ENOTDIR), as a store that is gone, read-only or full would, and intake says Outage."""
    dovecot.create("Processats")
    fetcher = fetchers(settings(dovecot, processed="Processats"), idle_seconds=IDLE_SECONDS)
    store = blob_store().root
    aside = store.with_name("attachments.aside")
    tickets = Tickets()
    with Fetching(fetcher) as fetching_:
        appender.append(message("Abans"))
        assert tickets.wait(["Abans"], 10) and wait_until(lambda: len(dovecot.flags("Processats")) == 1, 5)
        taken = fetching_.state().last_uid

        store.rename(aside)
        store.write_bytes(b"")
        try:
            appender.append(message("Durant"))
            failures: list = []

            def failed_again():
                state = fetching_.state()
                if state.failed_at is not None and state.failed_at not in failures:
                    failures.append(state.failed_at)
                return len(failures) >= 3

            assert wait_until(failed_again, 15), "the fetcher did not try again"
            state = fetching_.state()
            print(f"\nrecorded while the store failed: {state.last_error}")
            assert "Durant" not in tickets.seen and tickets.wait(["Durant"], 0) is False
            assert state.last_error and not state.is_idling and state.last_uid == taken
            # Tried again after 1 s, then 2 s (then 4 s …): not at once, and not only after a minute.
            gaps = [(later - earlier).total_seconds() for earlier, later in zip(failures, failures[1:])]
            assert 0.9 <= gaps[0] < 1.9 and 1.9 <= gaps[1] < 3.5, gaps
            waiting = dovecot.flags("INBOX")
            assert len(waiting) == 1 and b"\\Seen" not in waiting[0]  # still there, unflagged
            assert len(dovecot.flags("Processats")) == 1
        finally:
            store.unlink()
            aside.rename(store)

        back = time.monotonic()
        assert tickets.wait(["Durant"], 10), "the message was not taken once the store was back"
        print(f"taken {tickets.seen['Durant'] - back:.3f} s after the store was back (the next try: 4 s after the last)")
        assert wait_until(lambda: dovecot.flags("INBOX") == [] and len(dovecot.flags("Processats")) == 2, 5)
        state = fetching_.state()
        assert state.last_error == "" and state.last_uid > taken
        assert wait_until(lambda: fetching_.state().is_idling, 5)  # and back in IDLE
    assert each_once(["Abans", "Durant"]) == {}
    db.session.remove()
    assert db.session.scalar(select(func.count(ReceivedMail.id))) == 2
