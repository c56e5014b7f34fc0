"""Mail out: an outbox written in the caller's transaction and delivered by the scheduler after commit.

A message is queued with the change that caused it, so a rolled-back change sends nothing. Delivery
claims a message (``sending``) and commits that claim before talking to the SMTP server, then records
the outcome: if the process dies mid-send, the message stays ``sending`` and is reported for review
rather than sent a second time. A run sends everything due over one SMTP session; a server that is down
(or refuses TLS or the login) is tried once a run, and the whole run waits with back-off; a server that
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
from typing import Any, NotRequired, TypedDict

from flask_babel import gettext as _
from sqlalchemy import JSON, Index, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.core import oauth2
from helpdesk.core.models import UTCDateTime, enum_type, utcnow
from helpdesk.extensions import Model, db

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=1)
STUCK_AFTER = timedelta(minutes=15)


class OutboxStatus(enum.Enum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # refused for good: the reason says why
    UNCERTAIN = "uncertain"  # the sender died while sending: not retried, to never send twice


class OutboxAttachment(TypedDict):
    """A file to attach, by reference to the file store."""

    filename: str
    content_type: str
    sha256: str
    params: NotRequired[dict[str, str]]  # of its Content-Type, e.g. text/calendar; method=REQUEST


class OutboxMessage(Model):
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
    attachments: Mapped[list[OutboxAttachment]] = mapped_column(JSON, default=list)
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
             related: Any = None, attachments: list[OutboxAttachment] | None = None) -> OutboxMessage:
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
    oauth2: oauth2.OAuth2Grant | None = None  # sign in as ``username`` with an access token (XOAUTH2)

    @classmethod
    def from_config(cls, config: dict[str, Any], files: Any = None) -> SmtpSettings:
        grant = None
        if config["SMTP_AUTH"] == "oauth2":
            grant = oauth2.OAuth2Grant(token_url=config["SMTP_OAUTH2_TOKEN_URL"],
                                       client_id=config["SMTP_OAUTH2_CLIENT_ID"],
                                       client_secret=config["SMTP_OAUTH2_CLIENT_SECRET"],
                                       scope=config["SMTP_OAUTH2_SCOPE"],
                                       refresh_token=config["SMTP_OAUTH2_REFRESH_TOKEN"])
        return cls(host=config["SMTP_HOST"], port=config["SMTP_PORT"], security=config["SMTP_SECURITY"],
                   username=config["SMTP_USERNAME"], password=config["SMTP_PASSWORD"],
                   sender=config["SUPPORT_EMAIL"], sender_name=config["MAIL_FROM_NAME"], files=files, oauth2=grant)


class SmtpSignInError(smtplib.SMTPException):
    """No OAuth2 sign-in: no token from the provider, or the server refused it (the message says which).
    Not a response code: the outbox waits and tries again, as for a server that is down."""


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
    try:
        if settings.security == "starttls":
            connection.starttls(context=context)
        if settings.oauth2 is not None:
            _sign_in_with_oauth2(connection, settings, settings.oauth2)
        elif settings.username:
            connection.login(settings.username, settings.password)
    except BaseException:
        connection.close()  # a refused TLS or login would otherwise leave the socket open, one a run
        raise
    return connection


def _sign_in_with_oauth2(connection: smtplib.SMTP, settings: SmtpSettings, grant: oauth2.OAuth2Grant) -> None:
    """AUTH XOAUTH2 (Microsoft 365, Google) or else OAUTHBEARER, with a token from the provider."""
    connection.ehlo_or_helo_if_needed()
    offered = connection.esmtp_features.get("auth", "").upper().split()
    mechanism = next((name for name in ("XOAUTH2", "OAUTHBEARER") if name in offered), None)
    if mechanism is None:
        raise SmtpSignInError(_("%(host)s does not offer OAuth2 sign-in (AUTH XOAUTH2 or OAUTHBEARER): check "
                                "HELPDESK_SMTP_HOST and HELPDESK_SMTP_PORT.", host=settings.host))
    try:
        token = oauth2.access_token(grant)
        refusal = _authenticate(connection, mechanism, settings, token.value)
        if refusal and token.from_cache:  # revoked, or expired early: one more try with a new token
            refusal = _authenticate(connection, mechanism, settings, oauth2.access_token(grant, renew=True).value)
    except oauth2.OAuth2Error as error:
        raise SmtpSignInError(str(error)) from error
    if refusal:
        raise SmtpSignInError(_("The mail server refused the access token for %(user)s (%(refusal)s): check that "
                                "the application may send as this mailbox (Microsoft 365: SMTP AUTH enabled for "
                                "the mailbox and the SMTP.SendAsApp permission; Google Workspace: the scope "
                                "https://mail.google.com/).", user=settings.username, refusal=refusal))


def _authenticate(connection: smtplib.SMTP, mechanism: str, settings: SmtpSettings, token: str) -> str:
    """One AUTH; the server's refusal (empty when it let us in)."""
    initial = (oauth2.xoauth2(settings.username, token) if mechanism == "XOAUTH2"
               else oauth2.oauthbearer(settings.username, token, settings.host, settings.port))

    def respond(challenge: bytes | None = None) -> str:
        # smtplib asks for the initial response first (no challenge); a 334 after it carries the server's
        # error (JSON), to which SASL wants an empty line before the 535.
        return initial.decode("utf-8") if challenge is None else ""
    try:
        connection.auth(mechanism, respond)
    except UnicodeEncodeError as error:  # smtplib sends SASL as ASCII
        raise SmtpSignInError(_("The SMTP user name must be written in ASCII for OAuth2 sign-in.")) from error
    except smtplib.SMTPAuthenticationError as error:
        reply = error.smtp_error
        return f"{error.smtp_code} {reply.decode('utf-8', 'replace') if isinstance(reply, bytes) else reply}"
    return ""


def backoff(attempts: int) -> timedelta:
    """How long a message waits after its ``attempts``-th failed run: 2, 4, 8 … minutes, at most MAX_BACKOFF."""
    return min(MAX_BACKOFF, timedelta(minutes=2 ** min(max(1, attempts), 16)))  # 2**16 min is past any cap


@dataclass
class DeliveryRun:
    """What one delivery run did; ``server_error`` is set when the server could not be reached (or the
    session was lost), and then everything of the run still unsent waits for its next attempt."""

    sent: int = 0
    deferred: int = 0
    failed: int = 0
    uncertain: int = 0
    server_error: str = ""

    def __str__(self) -> str:
        counts = (f"sent {self.sent}, deferred {self.deferred}, failed {self.failed}, "
                  f"uncertain {self.uncertain}")
        return f"{counts}; the run was deferred: {self.server_error}" if self.server_error else counts


def _describe(error: BaseException) -> str:
    return f"{error.__class__.__name__}: {error}"[:2000]


def deliver_pending(settings: SmtpSettings, now: datetime | None = None, limit: int = 200) -> DeliveryRun:
    """Send what is due over one SMTP session, committing after each message; when the server cannot be
    reached the whole run waits for its next attempt."""
    now = now or utcnow()
    run = DeliveryRun()
    stuck = db.session.scalars(select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SENDING,
                                                           OutboxMessage.next_attempt_at < now - STUCK_AFTER))
    for abandoned in stuck:
        abandoned.status = OutboxStatus.UNCERTAIN
        abandoned.last_error = "the sender stopped while sending: check whether it arrived before resending"
        run.uncertain += 1
    db.session.commit()
    if not settings.host:
        return run  # no server configured: messages wait in the outbox
    due = list(db.session.scalars(select(OutboxMessage.id).where(
        OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id).limit(limit)))
    if not due:
        return run  # nothing to send: no connection either
    try:
        connection = _connect(settings)
    except (OSError, smtplib.SMTPException) as error:
        # One attempt a run, not one a message: a server that is down, or that refuses TLS or the login,
        # would refuse the next message the same way.
        run.server_error = _describe(error)
        run.deferred += _defer(due, now, run.server_error)
        log.warning("outbox: the mail server could not be reached, %d message(s) wait: %s", run.deferred,
                    run.server_error)
        return run
    try:
        for position, message_id in enumerate(due):
            message = db.session.get(OutboxMessage, message_id, with_for_update={"skip_locked": True})
            if message is None or message.status is not OutboxStatus.PENDING:
                continue
            message.status, message.attempts, message.next_attempt_at = OutboxStatus.SENDING, message.attempts + 1, now
            db.session.commit()  # the claim is durable before anything leaves
            outcome = _send(connection, message, settings, now)
            counted = "deferred" if outcome == "lost" else outcome
            setattr(run, counted, getattr(run, counted) + 1)
            db.session.commit()
            if outcome == "lost" or connection.sock is None:
                # The session broke (or the server closed it, as smtplib does on a 421): the rest of the
                # run waits, rather than opening a connection per message to a server in trouble.
                run.server_error = message.last_error
                run.deferred += _defer(due[position + 1:], now, message.last_error)
                break
    finally:
        _close(connection)
    if run.deferred:
        log.warning("outbox: %d message(s) deferred, the mail server did not take them", run.deferred)
    return run


def _send(connection: smtplib.SMTP, message: OutboxMessage, settings: SmtpSettings, now: datetime) -> str:
    """Send one claimed message and record how it went: "sent", "deferred", "failed", or "lost" (deferred,
    and the session is gone)."""
    try:
        email = build(message, settings)
    except OSError as error:  # an attachment the file store cannot read now: this message waits
        return _retry_later(message, now, _describe(error), "deferred")
    try:
        refused = connection.send_message(email)
    except smtplib.SMTPRecipientsRefused as error:
        message.last_error = "; ".join(f"{address}: {code} {reply.decode(errors='replace')}"
                                       for address, (code, reply) in error.recipients.items())[:2000]
        if all(500 <= code < 600 for code, _reply in error.recipients.values()):
            message.status = OutboxStatus.FAILED
            return "failed"
        return _retry_later(message, now, message.last_error, "deferred")  # 4xx: busy, try again later
    except smtplib.SMTPResponseException as error:
        if 500 <= error.smtp_code < 600:
            message.status, message.last_error = OutboxStatus.FAILED, _describe(error)
            return "failed"
        return _retry_later(message, now, _describe(error), "deferred")
    except (OSError, smtplib.SMTPException) as error:  # the connection dropped, timed out, or was closed
        return _retry_later(message, now, _describe(error), "lost")
    message.status, message.sent_at = OutboxStatus.SENT, utcnow()
    message.last_error = "; ".join(f"{address}: {code}" for address, (code, _) in refused.items())
    return "sent"


def _retry_later(message: OutboxMessage, now: datetime, error: str, outcome: str) -> str:
    message.status, message.next_attempt_at, message.last_error = (OutboxStatus.PENDING,
                                                                   now + backoff(message.attempts), error)
    return outcome


def _defer(message_ids: list[int], now: datetime, error: str) -> int:
    """Count one more attempt for each message still pending and set its next one; one commit for all."""
    if not message_ids:
        return 0
    deferred = 0
    for message in db.session.scalars(select(OutboxMessage).where(
            OutboxMessage.id.in_(message_ids), OutboxMessage.status == OutboxStatus.PENDING)
            .with_for_update(skip_locked=True)):
        message.attempts += 1
        _retry_later(message, now, error, "deferred")
        deferred += 1
    db.session.commit()
    return deferred


def _close(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            pass
    return None
