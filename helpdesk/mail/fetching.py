"""The IMAP fetcher: new mail becomes tickets within seconds (IDLE), or on a poll where IDLE is missing.

Per message: fetch, ingest (which commits), remember the UID, then flag or move it on the server. A
crash after the commit and before the flag only means the message is fetched again and recognised as a
duplicate. A change of UIDVALIDITY restarts from the first UID, duplicates again recognised.

No gap before IDLE: mail that arrives during a fetch is announced by the server (EXISTS) at the end of one
of the fetcher's commands, where IDLE would never see it; so the fetcher looks again (UID SEARCH) until a
look finds nothing new and nothing was announced meanwhile. Mail that comes after that last look is
announced at the start of the IDLE, which then ends at once (imap.py).

When the desk itself fails (database, file store, disk: ``Outage``), nothing of the message was recorded:
it stays on the server unflagged, its UID is not remembered, and the fetcher keeps its connection and tries
again with back-off. A lost connection, or anything else, is retried the same way after reconnecting.
Either failure is recorded on the mailbox's state for the administrators' screens.
"""
from __future__ import annotations

import logging
import socket
import threading

from flask import Flask

from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.mail import imap
from helpdesk.mail.intake import Outage, ingest
from helpdesk.mail.models import MailboxSettings, MailboxState, OutcomeKind, configured_mailboxes

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60  # between attempts after a failure: 1, 2, 4 … 60 s


class Fetcher:
    def __init__(self, app: Flask, settings: MailboxSettings, idle_seconds: int = 300) -> None:
        self.app, self.settings, self.idle_seconds = app, settings, idle_seconds
        self.connection: imap.Connection | None = None
        self.idling: bool | None = None  # as last recorded in the mailbox's state

    def _state(self) -> MailboxState:
        state = db.session.get(MailboxState, self.settings.name)
        if state is None:
            state = MailboxState(name=self.settings.name, last_uid=0)
            db.session.add(state)
            db.session.commit()
        return state

    def fetch_once(self) -> int:
        """Connect if needed and take in every new message; how many were taken in."""
        with self.app.app_context():
            try:
                return self._take_new(self._connected())
            finally:
                db.session.remove()

    def _connected(self) -> imap.Connection:
        """The connection, opened if there is none."""
        if self.connection is None:
            self.connection = imap.connect(self.settings)
        return self.connection

    def _take_new(self, connection: imap.Connection) -> int:
        state = self._state()
        validity = connection.selected_uidvalidity  # read when the folder was selected
        if state.uidvalidity != validity:
            if state.uidvalidity is not None:
                log.warning("%s: UIDVALIDITY changed (%s -> %s): reading it all again, duplicates are skipped",
                            self.settings.name, state.uidvalidity, validity)
            state.uidvalidity, state.last_uid = validity, 0
            db.session.commit()
        count = 0
        connection.response("EXISTS")  # what was announced so far, the search below finds
        while True:
            uids = imap.new_uids(connection, self._state().last_uid)
            for uid in uids:
                count += self._take(connection, uid)
            announced = connection.response("EXISTS")[1] != [None]  # mail that came while we looked
            if not uids and not announced:
                break
        state = self._state()
        state.checked_at = state.fetched_at = utcnow()
        db.session.commit()
        return count

    def _take(self, connection: imap.Connection, uid: int) -> bool:
        """Take the message with this UID in, remember it, then flag or move it; whether it was new."""
        raw = imap.fetch(connection, uid)
        outcome = None
        if raw is not None:  # None: gone meanwhile (another client moved it)
            outcome = ingest(raw, self.settings.name, source=f"{self.settings.name} uid {uid}")
            log.info("%s uid %s: %s %s", self.settings.name, uid, outcome.kind, outcome.ticket_id or "")
        state = self._state()
        state.last_uid, state.checked_at, state.last_error = uid, utcnow(), ""
        db.session.commit()
        imap.mark_processed(connection, uid, self.settings.processed_folder)
        return outcome is not None and outcome.kind != OutcomeKind.DUPLICATE

    def interrupt(self) -> None:
        """Wake a fetcher waiting in IDLE, so that it sees it must stop (imaplib2 queues any other command
        behind the IDLE: only cutting the connection ends it at once)."""
        connection = self.connection
        try:
            if connection is not None:
                connection.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed

    def close(self) -> None:
        """Log out (or at least close the socket when the server is gone)."""
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.logout()
        except Exception:  # noqa: BLE001 - the connection is already broken
            try:
                connection.shutdown()
            except Exception:  # noqa: BLE001
                pass
        finally:
            try:
                connection.sock.close()
            except OSError:
                pass

    def run(self, stop: threading.Event) -> None:
        """Fetch until ``stop`` is set: IDLE when the server offers it, else poll; after a failure try again
        with back-off (reconnecting, unless it was the desk's own outage)."""
        delay = 1
        while not stop.is_set():
            try:
                self.fetch_once()
                delay = 1
                connection = self._connected()  # fetch_once connected, or raised
                idle = "IDLE" in connection.capabilities
                if self.idling != idle:
                    self.idling = idle
                    self._record(is_idling=idle)
                if stop.is_set():
                    break  # stopped while connecting: ``interrupt`` found no connection to cut
                if idle:
                    connection.idle(timeout=min(self.idle_seconds, 29 * 60))
                else:
                    stop.wait(self.settings.poll_seconds)
                continue
            except Outage as outage:  # the connection is sound: keep it
                if stop.is_set():
                    break
                log.warning("%s: %s; the message stays on the server, trying again in %ss", self.settings.name,
                            outage, delay)
                self._failed(outage)
            except Exception as error:  # noqa: BLE001 - whatever broke (server, network, database): start over
                if stop.is_set():
                    break  # interrupted on purpose
                log.warning("%s: %s; reconnecting in %ss", self.settings.name, error, delay)
                self._failed(error)
                self.close()
            stop.wait(delay)
            delay = min(MAX_BACKOFF_SECONDS, delay * 2)
        self.close()
        self._record(is_idling=False)

    def _failed(self, error: Exception) -> None:
        now, self.idling = utcnow(), False
        self._record(last_error=str(error)[:2000], checked_at=now, failed_at=now, is_idling=False)

    def _record(self, **values: object) -> None:
        """Note the fetcher's state (an error, IDLE or not) for the administrators' screens."""
        with self.app.app_context():
            try:
                state = self._state()
                for name, value in values.items():
                    setattr(state, name, value)
                db.session.commit()
            except Exception:  # the database may be the thing that failed
                db.session.rollback()
            finally:
                db.session.remove()


class FetcherPool:
    """A fetcher thread for each configured mailbox, kept in step with the administration screens: a
    new or changed mailbox starts its fetcher, a removed or deactivated one stops."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.running: dict[MailboxSettings, tuple[Fetcher, threading.Event]] = {}

    def sync(self) -> None:
        with self.app.app_context():
            try:
                wanted, problems = configured_mailboxes(self.app.config)
            finally:
                db.session.remove()
        for problem in problems:
            log.warning("mailbox not fetched: %s", problem)
        for settings in [settings for settings in self.running if settings not in wanted]:
            self._stop(settings)
        for settings in wanted:
            if settings not in self.running:
                fetcher, stop = Fetcher(self.app, settings), threading.Event()
                threading.Thread(target=fetcher.run, args=(stop,), name=f"mail-fetcher {settings.name}",
                                 daemon=True).start()
                self.running[settings] = fetcher, stop
                log.info("fetching mail from %s", settings.name)

    def _stop(self, settings: MailboxSettings) -> None:
        fetcher, stop = self.running.pop(settings)
        stop.set()
        fetcher.interrupt()
        log.info("no longer fetching mail from %s", settings.name)

    def stop_all(self) -> None:
        for settings in list(self.running):
            self._stop(settings)
