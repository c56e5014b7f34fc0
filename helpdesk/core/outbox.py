"""Mail out: an outbox written in the caller's transaction and delivered by the scheduler after commit.

A message is queued with the change that caused it, so a rolled-back change sends nothing. Delivery
claims a message (``sending``) and commits that claim before talking to the SMTP server, then records
the outcome: if the process dies mid-send, the message stays ``sending`` and is reported for review
rather than sent a second time. A server that is down means a retry later, with back-off; a server that
refuses the recipients for good marks the message ``failed`` with its reason.
"""
from __future__ import annotations

import enum
import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, format_datetime, make_msgid
from typing import Any

from sqlalchemy import JSON, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.core.models import UTCDateTime, enum_type, utcnow
from helpdesk.extensions import db

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=1)
STUCK_AFTER = timedelta(minutes=15)


class OutboxStatus(enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # refused for good: the reason says why
    UNCERTAIN = "uncertain"  # the sender died while sending: not retried, to never send twice


class OutboxMessage(db.Model):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
                      Index("ix_outbox_related", "related_type", "related_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    to_addresses: Mapped[str] = mapped_column(Text)
    cc_addresses: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(998))
    body_text: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text, default="")
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Files to attach, by reference to the file store: [{"filename", "content_type", "sha256"}].
    attachments: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(enum_type(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the message is about, to show its delivery status there (a ticket message, a ticket…).
    related_type: Mapped[str] = mapped_column(String(64), default="")
    related_id: Mapped[int | None]


def new_message_id(domain: str, local: str = "") -> str:
    return make_msgid(idstring=local or None, domain=domain)


def queue_mail(to: list[str], subject: str, body_text: str, **options: Any) -> OutboxMessage:
    """Queue a message in the current transaction; it goes out after commit, never before (the options
    are ``outgoing``'s)."""
    message = outgoing(to, subject, body_text, **options)
    db.session.add(message)
    return message


def outgoing(to: list[str], subject: str, body_text: str, *, body_html: str = "", cc: list[str] | None = None,
             headers: dict[str, str] | None = None, message_id: str | None = None, domain: str = "localhost",
             related: Any = None, attachments: list[dict[str, str]] | None = None) -> OutboxMessage:
    """The outbox message ``queue_mail`` adds, not yet in the session."""
    return OutboxMessage(to_addresses=", ".join(to), cc_addresses=", ".join(cc or []), subject=subject,
                         body_text=body_text, body_html=body_html, headers=dict(headers or {}),
                         attachments=list(attachments or []), message_id=message_id or new_message_id(domain),
                         related_type=related.__tablename__ if related is not None else "",
                         related_id=related.id if related is not None else None)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 25
    security: str = "none"  # none, starttls or ssl
    username: str = ""
    password: str = ""
    sender: str = ""
    sender_name: str = ""
    timeout: int = 20
    files: Any = None  # the BlobStore attachments are read from

    @classmethod
    def from_config(cls, config: dict, files: Any = None) -> SmtpSettings:
        return cls(host=config["SMTP_HOST"], port=config["SMTP_PORT"], security=config["SMTP_SECURITY"],
                   username=config["SMTP_USERNAME"], password=config["SMTP_PASSWORD"],
                   sender=config["SUPPORT_EMAIL"], sender_name=config["MAIL_FROM_NAME"], files=files)


def build(message: OutboxMessage, settings: SmtpSettings) -> EmailMessage:
    email = EmailMessage()
    email["From"] = formataddr((settings.sender_name, settings.sender))
    email["To"] = message.to_addresses
    if message.cc_addresses:
        email["Cc"] = message.cc_addresses
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email["Date"] = format_datetime(message.created_at)
    for name, value in message.headers.items():
        email[name] = value
    email.set_content(message.body_text)
    if message.body_html:
        email.add_alternative(message.body_html, subtype="html")
    for item in message.attachments:
        main, _, sub = item["content_type"].partition("/")
        email.add_attachment(settings.files.read(item["sha256"]), maintype=main or "application",
                             subtype=sub or "octet-stream", filename=item["filename"],
                             params=item.get("params") or None)  # e.g. text/calendar; method=REQUEST
    return email


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if settings.security == "ssl":
        connection: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                    context=context)
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
        if settings.security == "starttls":
            connection.starttls(context=context)
    if settings.username:
        connection.login(settings.username, settings.password)
    return connection


def backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(minutes=2 ** max(0, attempts - 1)))


def deliver_pending(settings: SmtpSettings, now: datetime | None = None, limit: int = 200) -> dict[str, int]:
    """Send what is due; commit after each message. Returns how many were sent, deferred, failed."""
    now = now or utcnow()
    counts = {"sent": 0, "deferred": 0, "failed": 0, "uncertain": 0}
    stuck = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENDING,
                                                           OutboxMessage.next_attempt_at < now - STUCK_AFTER))
    for message in stuck:
        message.status = OutboxStatus.UNCERTAIN
        message.last_error = "the sender stopped while sending: check whether it arrived before resending"
        counts["uncertain"] += 1
    db.session.commit()
    if not settings.host:
        return counts  # no server configured: messages wait in the outbox
    due = db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id).limit(limit)).all()
    connection = None
    try:
        for message_id in due:
            message = db.session.get(OutboxMessage, message_id, with_for_update={"skip_locked": True})
            if message is None or message.status is not OutboxStatus.PENDING:
                continue
            message.status, message.attempts, message.next_attempt_at = OutboxStatus.SENDING, message.attempts + 1, now
            db.session.commit()  # the claim is durable before anything leaves
            try:
                if connection is None:
                    connection = _connect(settings)
                refused = connection.send_message(build(message, settings))
            except smtplib.SMTPRecipientsRefused as error:
                message.status = OutboxStatus.FAILED
                message.last_error = "; ".join(f"{address}: {code} {reply.decode(errors='replace')}"
                                               for address, (code, reply) in error.recipients.items())
                counts["failed"] += 1
            except (OSError, smtplib.SMTPException) as error:
                if isinstance(error, smtplib.SMTPResponseException) and 500 <= error.smtp_code < 600 \
                        and not isinstance(error, smtplib.SMTPServerDisconnected):
                    message.status = OutboxStatus.FAILED
                    counts["failed"] += 1
                else:
                    message.status = OutboxStatus.PENDING
                    message.next_attempt_at = now + backoff(message.attempts)
                    counts["deferred"] += 1
                message.last_error = f"{error.__class__.__name__}: {error}"[:2000]
                connection = _close(connection)
            else:
                message.status, message.sent_at = OutboxStatus.SENT, utcnow()
                message.last_error = "; ".join(f"{address}: {code}" for address, (code, _) in refused.items())
                counts["sent"] += 1
            db.session.commit()
    finally:
        _close(connection)
    if counts["deferred"]:
        log.warning("outbox: %d message(s) deferred, the mail server did not take them", counts["deferred"])
    return counts


def _close(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return None
