"""Incoming mail's records: the mailboxes fetched from and how far each was read, the ledger of every
message taken, and the mail kept aside for an administrator."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.core.models import UTCDateTime, enum_type, utcnow
from helpdesk.core.oauth2 import OAuth2Grant
from helpdesk.core.sealing import SealBroken, unseal
from helpdesk.extensions import Model, db

SECURITY_CHOICES = ("ssl", "starttls", "none")
AUTH_METHODS = ("password", "oauth2")  # oauth2: SASL XOAUTH2 or OAUTHBEARER with a token of the provider


class MailboxState(Model):
    """How far a mailbox has been read: UIDs are only comparable within one UIDVALIDITY."""

    __tablename__ = "mailbox_states"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    uidvalidity: Mapped[int | None]
    last_uid: Mapped[int] = mapped_column(default=0)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # For the operations page: the last fetch that worked, when last_error happened (kept after a
    # recovery, to show), and whether the fetcher now waits in IDLE (False while polling or stopped).
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_idling: Mapped[bool] = mapped_column(default=False)

    @property
    def is_failing(self) -> bool:
        """The last attempt failed: no fetch has worked since ``last_error``."""
        return self.failed_at is not None and (self.fetched_at is None or self.failed_at > self.fetched_at)


class Mailbox(Model):
    """A mailbox configured in the administration screens (one more can come from HELPDESK_IMAP_*)."""

    __tablename__ = "mailboxes"
    __table_args__ = (UniqueConstraint("host", "username", "folder", name="uq_mailboxes_host_username_folder"),)
    AUDITED = ("host", "port", "security", "username", "folder", "processed_folder", "poll_seconds", "is_active",
               "auth_method", "oauth2_grant", "oauth2_token_url", "oauth2_client_id", "oauth2_scope")

    id: Mapped[int] = mapped_column(primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int]
    security: Mapped[str] = mapped_column(String(16))
    username: Mapped[str] = mapped_column(String(255))
    auth_method: Mapped[str] = mapped_column(String(16), default="password")
    password_sealed: Mapped[str] = mapped_column(Text, default="")  # see core.sealing; empty for OAuth2
    # OAuth2 (core.oauth2): the provider's token endpoint and the desk's registration there; the secret and
    # the refresh token sealed like the password (a refresh token the provider rotates is kept in
    # core.oauth2's own table, so that this row, and the fetcher it feeds, stays the same).
    oauth2_grant: Mapped[str] = mapped_column(String(32), default="")  # client_credentials or refresh_token
    oauth2_token_url: Mapped[str] = mapped_column(String(500), default="")
    oauth2_client_id: Mapped[str] = mapped_column(String(255), default="")
    oauth2_client_secret_sealed: Mapped[str] = mapped_column(Text, default="")
    oauth2_scope: Mapped[str] = mapped_column(String(500), default="")
    oauth2_refresh_token_sealed: Mapped[str] = mapped_column(Text, default="")
    folder: Mapped[str] = mapped_column(String(200), default="INBOX")
    processed_folder: Mapped[str] = mapped_column(String(200), default="")
    poll_seconds: Mapped[int] = mapped_column(default=60)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def name(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"

    @property
    def uses_oauth2(self) -> bool:
        return self.auth_method == "oauth2"

    def oauth2(self, secret_key: str) -> OAuth2Grant | None:
        """The OAuth2 grant it signs in with (None for a password); SealBroken under another SECRET_KEY."""
        if not self.uses_oauth2:
            return None
        try:
            secret = unseal(self.oauth2_client_secret_sealed, secret_key) if self.oauth2_client_secret_sealed else ""
            refresh = (unseal(self.oauth2_refresh_token_sealed, secret_key)
                       if self.oauth2_grant == "refresh_token" and self.oauth2_refresh_token_sealed else "")
        except SealBroken as error:
            raise SealBroken("sealed with another SECRET_KEY: type the client secret and refresh token again"
                             ) from error
        return OAuth2Grant(token_url=self.oauth2_token_url, client_id=self.oauth2_client_id, client_secret=secret,
                           scope=self.oauth2_scope, refresh_token=refresh)

    def settings(self, config: dict[str, Any]) -> MailboxSettings:
        """How to reach it; SealBroken when a secret was sealed under another SECRET_KEY."""
        grant = self.oauth2(config["SECRET_KEY"])
        return MailboxSettings(host=self.host, port=self.port, security=self.security, username=self.username,
                               password="" if grant else unseal(self.password_sealed, config["SECRET_KEY"]),
                               folder=self.folder, processed_folder=self.processed_folder,
                               poll_seconds=self.poll_seconds, ca_file=config["IMAP_CA_FILE"] or None, oauth2=grant)


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
    oauth2: OAuth2Grant | None = None  # sign in with an OAuth2 access token instead of the password

    @property
    def name(self) -> str:
        return f"{self.username}@{self.host}/{self.folder}"

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> MailboxSettings | None:
        if not (config["IMAP_HOST"] and config["IMAP_USERNAME"]):
            return None
        return cls(host=config["IMAP_HOST"], port=config["IMAP_PORT"], security=config["IMAP_SECURITY"],
                   username=config["IMAP_USERNAME"], password=config["IMAP_PASSWORD"], folder=config["IMAP_FOLDER"],
                   processed_folder=config["IMAP_PROCESSED_FOLDER"], poll_seconds=config["IMAP_POLL_SECONDS"],
                   ca_file=config["IMAP_CA_FILE"] or None)


def configured_mailboxes(config: dict[str, Any]) -> tuple[list[MailboxSettings], list[str]]:
    """Every mailbox to fetch from (the settings' one, then the active ones of the administration
    screens), and a line for each that cannot be used."""
    found: dict[str, MailboxSettings] = {}
    problems = []
    if (from_config := MailboxSettings.from_config(config)) is not None:
        found[from_config.name] = from_config
    for mailbox in db.session.scalars(select(Mailbox).where(Mailbox.is_active).order_by(Mailbox.id)):
        try:
            found.setdefault(mailbox.name, mailbox.settings(config))
        except SealBroken as error:
            problems.append(f"{mailbox.name}: {error}")
    return list(found.values()), problems


class OutcomeKind(enum.StrEnum):
    """What became of a message that arrived (strings too: they show in URLs and the commands' output)."""

    NEW_TICKET = "new_ticket"
    FOLLOW_UP = "follow_up"  # added to the ticket it answers
    FILTERED = "filtered"  # machine-written and off any thread: held for an administrator
    QUARANTINED = "quarantined"  # its content could not be processed: held whole, can be retried
    DUPLICATE = "duplicate"  # the same message was taken already (never in the ledger)


class HeldKind(enum.StrEnum):
    FILTERED = "filtered"
    QUARANTINED = "quarantined"


class HeldStatus(enum.StrEnum):
    HELD = "held"  # waiting for an administrator
    TICKETED = "ticketed"  # an administrator made a ticket of it
    RETRIED = "retried"  # run through intake again (its new outcome is in the ledger)
    DISCARDED = "discarded"  # set aside for good; the file is kept


class ReceivedMail(Model):
    """Every message taken from a mailbox (or imported), once: the ledger that makes ingestion exactly-once.

    A message is the same as one taken before only when its mailbox, Message-ID and content digest
    (``parsing.content_digest``) all match: a different message that reuses a Message-ID is taken too.
    Rows from before digests existed have none; intake fills it in from the stored file when it needs it."""

    __tablename__ = "received_mail"
    __table_args__ = (UniqueConstraint("mailbox", "message_id", "content_digest",
                                       name="uq_received_mail_mailbox_message_id_content_digest"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(998))
    content_digest: Mapped[str | None] = mapped_column(String(64))
    raw_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    outcome: Mapped[OutcomeKind] = mapped_column(enum_type(OutcomeKind))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    # Another message had taken this Message-ID first (a list copy, a broken client, a calendar update).
    is_message_id_reused: Mapped[bool] = mapped_column(default=False)


class HeldMail(Model):
    """Mail kept aside whole, for an administrator: filtered (machine-written, off any thread) or
    quarantined (it could not be processed)."""

    __tablename__ = "held_mail"
    __table_args__ = (Index("ix_held_mail_kind_status", "kind", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[HeldKind] = mapped_column(enum_type(HeldKind))
    status: Mapped[HeldStatus] = mapped_column(enum_type(HeldStatus), default=HeldStatus.HELD)
    mailbox: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[str] = mapped_column(String(998), default="")
    from_address: Mapped[str] = mapped_column(String(254), default="")
    subject: Mapped[str] = mapped_column(String(998), default="")
    reason: Mapped[str] = mapped_column(Text)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
