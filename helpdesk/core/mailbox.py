"""IMAP mailboxes: where to fetch from, and how far each has been read (UIDVALIDITY and last UID)."""
from __future__ import annotations

import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import imaplib2
from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.core.models import UTCDateTime
from helpdesk.extensions import db


class MailboxState(db.Model):
    """How far a mailbox has been read: UIDs are only comparable within one UIDVALIDITY."""

    __tablename__ = "mailbox_states"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int | None]
    last_uid: Mapped[int] = mapped_column(default=0)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class MailboxSettings:
    host: str
    port: int
    security: str  # ssl, starttls or none
    username: str
    password: str
    folder: str = "INBOX"
    processed_folder: str = ""
    poll_seconds: int = 60
    timeout: int = 30
    ca_file: str | None = None  # for tests with a self-signed server certificate

    @property
    def name(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MailboxSettings | None:
        if not (config["IMAP_HOST"] and config["IMAP_USERNAME"]):
            return None
        return cls(host=config["IMAP_HOST"], port=config["IMAP_PORT"], security=config["IMAP_SECURITY"],
                   username=config["IMAP_USERNAME"], password=config["IMAP_PASSWORD"], folder=config["IMAP_FOLDER"],
                   processed_folder=config["IMAP_PROCESSED_FOLDER"], poll_seconds=config["IMAP_POLL_SECONDS"])


class ImapError(Exception):
    """The server refused something or the connection broke."""


def connect(settings: MailboxSettings) -> imaplib2.IMAP4:
    """Log in (over TLS unless told otherwise) and select the folder."""
    try:
        if settings.security == "ssl":
            connection = imaplib2.IMAP4_SSL(settings.host, settings.port, ca_certs=settings.ca_file,
                                            timeout=settings.timeout, cert_verify_cb=_no_extra_check)
        else:
            connection = imaplib2.IMAP4(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                connection.starttls(ca_certs=settings.ca_file, cert_verify_cb=_no_extra_check)
        connection.login(settings.username, settings.password)
        # Servers tell more after login (MOVE, UIDPLUS…) than in their greeting.
        _, data = connection.capability()
        connection.capabilities = tuple((data[0] or b"").decode().upper().split()) or connection.capabilities
        kind, _ = connection.select(settings.folder)
        if kind != "OK":
            raise ImapError(f"cannot open folder {settings.folder}")
        return connection
    except (OSError, ssl.SSLError, imaplib2.IMAP4.error, imaplib2.IMAP4.abort) as error:
        raise ImapError(str(error)) from error


def _no_extra_check(certificate, hostname):
    return None  # the ssl module has already verified the chain and the host name


def uidvalidity(connection: imaplib2.IMAP4) -> int:
    _, values = connection.response("UIDVALIDITY")
    return int(values[0]) if values and values[0] else 0


def new_uids(connection: imaplib2.IMAP4, after: int) -> list[int]:
    kind, data = connection.uid("SEARCH", None, "UID", f"{after + 1}:*")
    if kind != "OK":
        raise ImapError(f"UID SEARCH failed: {data}")
    uids = [int(uid) for uid in (data[0] or b"").split()]
    return sorted(uid for uid in uids if uid > after)  # "n:*" always matches the last message


def fetch(connection: imaplib2.IMAP4, uid: int) -> bytes | None:
    kind, data = connection.uid("FETCH", str(uid), "(BODY.PEEK[])")
    if kind != "OK":
        raise ImapError(f"UID FETCH {uid} failed: {data}")
    for item in data or []:
        if isinstance(item, tuple) and len(item) == 2:
            return item[1]
    return None


def mark_processed(connection: imaplib2.IMAP4, uid: int, processed_folder: str) -> None:
    """Move the message to the processed folder, or flag it as seen when there is none."""
    if not processed_folder:
        connection.uid("STORE", str(uid), "+FLAGS", r"(\Seen)")
        return
    if "MOVE" in connection.capabilities:
        kind, data = connection.uid("MOVE", str(uid), processed_folder)
    else:
        kind, data = connection.uid("COPY", str(uid), processed_folder)
        if kind == "OK":
            connection.uid("STORE", str(uid), "+FLAGS", r"(\Deleted)")
            connection.expunge()
    if kind != "OK":
        raise ImapError(f"cannot move message {uid} to {processed_folder}: {data}")
