"""The IMAP fetcher: new mail becomes tickets within seconds (IDLE), or on a poll where IDLE is missing.

Per message: fetch, ingest (which commits), remember the UID, then flag or move it on the server. A
crash after the commit and before the flag only means the message is fetched again and recognised as a
duplicate. A change of UIDVALIDITY restarts from the first UID, duplicates again recognised. Lost
connections are retried with back-off.
"""
from __future__ import annotations

import logging
import threading

from flask import Flask

from helpdesk.core import mailbox as imap
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.inbound import ingest

log = logging.getLogger(__name__)
MAX_BACKOFF_SECONDS = 60


class Fetcher:
    def __init__(self, app: Flask, settings: imap.MailboxSettings, idle_seconds: int = 300) -> None:
        self.app, self.settings, self.idle_seconds = app, settings, idle_seconds
        self.connection = None

    def _state(self) -> imap.MailboxState:
        state = db.session.get(imap.MailboxState, self.settings.name)
        if state is None:
            state = imap.MailboxState(name=self.settings.name, last_uid=0)
            db.session.add(state)
            db.session.commit()
        return state

    def fetch_once(self) -> int:
        """Connect if needed and take in every new message; how many were taken in."""
        with self.app.app_context():
            try:
                if self.connection is None:
                    self.connection = imap.connect(self.settings)
                return self._take_new()
            finally:
                db.session.remove()

    def _take_new(self) -> int:
        state = self._state()
        validity = imap.uidvalidity(self.connection)
        if state.uidvalidity != validity:
            if state.uidvalidity is not None:
                log.warning("%s: UIDVALIDITY changed (%s -> %s): reading it all again, duplicates are skipped",
                            self.settings.name, state.uidvalidity, validity)
            state.uidvalidity, state.last_uid = validity, 0
            db.session.commit()
        count = 0
        for uid in imap.new_uids(self.connection, state.last_uid):
            raw = imap.fetch(self.connection, uid)
            if raw is not None:
                outcome = ingest(raw, self.settings.name)
                log.info("%s uid %s: %s %s", self.settings.name, uid, outcome.kind, outcome.ticket_id or "")
                count += outcome.kind != "duplicate"
            state = self._state()
            state.last_uid, state.checked_at, state.last_error = uid, utcnow(), ""
            db.session.commit()
            self.mark_processed(uid)
        state.checked_at = utcnow()
        db.session.commit()
        return count

    def mark_processed(self, uid: int) -> None:
        imap.mark_processed(self.connection, uid, self.settings.processed_folder)

    def close(self) -> None:
        """Log out (or at least close the socket when the server is gone)."""
        if self.connection is not None:
            try:
                self.connection.logout()
            except Exception:  # the connection is already broken
                try:
                    self.connection.shutdown()
                except Exception:
                    pass
        self.connection = None

    def run(self, stop: threading.Event) -> None:
        """Fetch until ``stop`` is set: IDLE when the server offers it, else poll; reconnect with back-off."""
        delay = 1
        while not stop.is_set():
            try:
                self.fetch_once()
                delay = 1
                if "IDLE" in self.connection.capabilities:
                    self.connection.idle(timeout=min(self.idle_seconds, 29 * 60))
                else:
                    stop.wait(self.settings.poll_seconds)
            except Exception as error:  # noqa: BLE001 - whatever broke (server, network, database): start over
                log.warning("%s: %s; reconnecting in %ss", self.settings.name, error, delay)
                self._record_error(str(error))
                self.close()
                stop.wait(delay)
                delay = min(MAX_BACKOFF_SECONDS, delay * 2)
        self.close()

    def _record_error(self, message: str) -> None:
        with self.app.app_context():
            try:
                state = self._state()
                state.last_error, state.checked_at = message[:2000], utcnow()
                db.session.commit()
            except Exception:  # the database may be the thing that failed
                db.session.rollback()
            finally:
                db.session.remove()
