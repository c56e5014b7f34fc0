"""Incoming mail → tickets: one message, one transaction, and nothing lost.

Each raw message is recorded once per mailbox (by Message-ID, or a hash of its bytes when it has
none), then threaded onto its ticket, opened as a new ticket, filed as filtered (machine-written and
off any thread), or — when anything goes wrong — kept whole in quarantine with the reason. The IMAP
fetcher and ``helpdesk mail import`` both run exactly this.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.html import sanitize_html
from helpdesk.core.mailparse import ParsedMail, parse
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import queue_mail
from helpdesk.core.storage import BlobStore
from helpdesk.councils.models import Contact
from helpdesk.councils.services import council_for_address, council_for_domain
from helpdesk.extensions import db
from helpdesk.tickets import mailing
from helpdesk.tickets.models import HeldMail, Message, ReceivedMail, Ticket
from helpdesk.tickets.services import TicketData, Upload, change_status, open_ticket, reindex, store_attachments
from helpdesk.tickets.states import Channel, MessageKind, TicketStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    kind: str  # new_ticket, follow_up, filtered, quarantined, duplicate
    ticket_id: int | None = None
    detail: str = ""


def files() -> BlobStore:
    return BlobStore(Path(current_app.instance_path) / "attachments")


def ingest(raw: bytes, mailbox: str, now: datetime | None = None) -> Outcome:
    """Take one raw message into the desk and commit; never raises for anything the message contains."""
    now = now or utcnow()
    sha256 = files().put(raw)
    if len(raw) > current_app.config["MAIL_MAX_BYTES"]:
        return _hold("quarantined", raw, sha256, mailbox, None, f"larger than {current_app.config['MAIL_MAX_BYTES']} "
                     f"bytes", now)
    try:
        mail = parse(raw)
    except Exception as error:  # a parser crash on some unforeseen input: keep the bytes
        log.exception("could not parse a message from %s", mailbox)
        return _hold("quarantined", raw, sha256, mailbox, None, f"unreadable: {error!r}", now)
    if db.session.scalar(select(ReceivedMail.id).where(ReceivedMail.mailbox == mailbox,
                                                       ReceivedMail.message_id == mail.message_id)):
        return Outcome("duplicate", detail=mail.message_id)
    try:  # the session holds nothing else: each message is its own transaction
        outcome = _route(mail, raw, sha256, mailbox, now)
        db.session.add(ReceivedMail(mailbox=mailbox, message_id=mail.message_id, raw_sha256=sha256,
                                    size=len(raw), received_at=now, outcome=outcome.kind, ticket_id=outcome.ticket_id))
        db.session.commit()
        return outcome
    except IntegrityError:
        db.session.rollback()  # another fetcher took the same message at the same moment
        return Outcome("duplicate", detail=mail.message_id)
    except Exception as error:
        db.session.rollback()
        log.exception("could not process %s from %s", mail.message_id, mailbox)
        return _hold("quarantined", raw, sha256, mailbox, mail, f"{error.__class__.__name__}: {error}", now)


def _hold(kind: str, raw: bytes, sha256: str, mailbox: str, mail: ParsedMail | None, reason: str,
          now: datetime) -> Outcome:
    held = HeldMail(kind=kind, mailbox=mailbox, message_id=mail.message_id if mail else "",
                    from_address=mail.from_address if mail else "", subject=(mail.subject if mail else "")[:998],
                    reason=reason[:4000], raw_sha256=sha256, size=len(raw), received_at=now)
    db.session.add(held)
    if mail is not None and kind == "quarantined":
        # Recorded too, so that fetching it again does not quarantine it twice; a retry replaces this.
        db.session.add(ReceivedMail(mailbox=mailbox, message_id=mail.message_id, raw_sha256=sha256, size=len(raw),
                                    received_at=now, outcome="quarantined"))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return Outcome("duplicate", detail=mail.message_id if mail else "")
    return Outcome(kind, detail=reason)


def _route(mail: ParsedMail, raw: bytes, sha256: str, mailbox: str, now: datetime) -> Outcome:
    desk = mailing.desk_addresses()
    ticket = find_thread(mail)
    if mail.from_address in desk and not mail.automatic:
        mail.automatic, mail.automatic_reason = "auto_reply", "sent by the desk itself"
    if mail.automatic:
        if ticket is None:
            _hold_filtered(mail, raw, sha256, mailbox, now)
            return Outcome("filtered", detail=mail.automatic_reason)
        _add_automatic(ticket, mail, now)
        return Outcome("follow_up", ticket.id, mail.automatic)
    if ticket is None:
        ticket, mentioned = _tagged_ticket(mail)
        if ticket is not None and ticket.status is TicketStatus.CLOSED:
            mentioned, ticket = ticket, None
        if ticket is None:
            ticket = _open(mail, now, mentioned)
            return Outcome("new_ticket", ticket.id)
    if ticket.status is TicketStatus.CLOSED:
        followed = _open(mail, now, ticket)
        return Outcome("new_ticket", followed.id, f"follow-up of closed {ticket.reference}")
    _add_inbound(ticket, mail, now)
    return Outcome("follow_up", ticket.id)


def find_thread(mail: ParsedMail) -> Ticket | None:
    """The ticket a message answers: by the Message-IDs it references (ours carry the ticket number)."""
    ids = mail.thread_ids
    if not ids:
        return None
    found = db.session.execute(select(Message.message_id, Message.ticket_id).where(Message.message_id.in_(ids))).all()
    by_id = dict(found)
    for message_id in ids:
        ticket_id = by_id.get(message_id) or mailing.ticket_from_message_id(message_id)
        if ticket_id:
            ticket = db.session.get(Ticket, ticket_id)
            if ticket is not None:
                return ticket.merged_into if ticket.merged_into_id else ticket
    return None


def _tagged_ticket(mail: ParsedMail) -> tuple[Ticket | None, Ticket | None]:
    """(ticket, None) when the subject names a ticket and the sender may write on it; (None, that
    ticket) when someone else names it (a new ticket then links to it)."""
    tag = re.escape(current_app.config["MAIL_SUBJECT_TAG"])
    match = re.search(r"\[(?:" + tag + r"\s*)?#(\d{1,12})\]", mail.subject, re.IGNORECASE)
    if not match:
        return None, None
    ticket = db.session.get(Ticket, int(match.group(1)))
    if ticket is None:
        return None, None
    return (ticket, None) if may_write(mail.from_address, ticket) else (None, ticket)


def may_write(address: str, ticket: Ticket) -> bool:
    """The requester, anyone already on the thread, someone of the same council, or staff."""
    address = (address or "").lower()
    if not address:
        return False
    if address == (ticket.requester_email or "").lower():
        return True
    for message in ticket.messages:
        people = f"{message.from_address},{message.to_addresses},{message.cc_addresses}".lower()
        if address in re.split(r"[\s,;]+", people):
            return True
    if ticket.council_id and (council := council_for_address(address)) is not None and council.id == ticket.council_id:
        return True
    user = db.session.scalar(select(User).where(func.lower(User.email) == address))
    return user is not None and user.is_staff and user.is_active


def _uploads(mail: ParsedMail) -> list[Upload]:
    return [Upload(item.filename, item.data, item.content_type) for item in mail.attachments]


def _html(mail: ParsedMail, message: Message) -> str:
    """The message's HTML, sanitised, with inline ``cid:`` images pointing at their stored attachment."""
    html = mail.html
    if "cid:" in html:
        db.session.flush()  # the attachments' ids make the inline images' addresses
        for stored, original in zip(message.attachments, mail.attachments, strict=False):
            if original.content_id:
                html = html.replace(f"cid:{original.content_id}", f"/attachments/{stored.id}/{stored.filename}")
    return sanitize_html(html) if html else ""


def _fields(mail: ParsedMail) -> dict[str, str]:
    """The message's columns that come from the mail's headers."""
    return {"message_id": mail.message_id, "from_name": mail.from_name, "from_address": mail.from_address,
            "to_addresses": ", ".join(address for _, address in mail.to),
            "cc_addresses": ", ".join(address for _, address in mail.cc), "subject": mail.subject}


def _message(ticket: Ticket, kind: MessageKind, mail: ParsedMail, now: datetime) -> Message:
    message = Message(ticket=ticket, kind=kind, body_text=mail.text, created_at=now, **_fields(mail))
    db.session.add(message)
    store_attachments(message, _uploads(mail))
    message.body_html = _html(mail, message)
    return message


def _open(mail: ParsedMail, now: datetime, mentioned: Ticket | None) -> Ticket:
    contact = db.session.scalar(select(Contact).where(func.lower(Contact.email) == mail.from_address).limit(1))
    council = contact.council if contact else council_for_domain(mail.from_address) if mail.from_address else None
    body = mail.text
    if mentioned is not None:
        body = f"[{mentioned.reference}] {body}"
    fields = _fields(mail)
    if "cid:" not in mail.html:
        fields["body_html"] = _html(mail, None)
    ticket = open_ticket(None, TicketData(
        subject=mail.subject or "(sense assumpte)", body=body, channel=Channel.EMAIL,
        council_id=council.id if council else None, requester_contact_id=contact.id if contact else None,
        requester_name=mail.from_name, requester_email=mail.from_address if "@" in mail.from_address else "",
        attachments=_uploads(mail), message_fields=fields), now, from_mail=True)
    if "cid:" in mail.html:
        ticket.messages[0].body_html = _html(mail, ticket.messages[0])
    if mentioned is not None:
        audit.record(None, "mentions", ticket, {"mentions_id": {"before": None, "after": mentioned.id}})
    mailing.acknowledge(ticket, now)
    return ticket


def _add_inbound(ticket: Ticket, mail: ParsedMail, now: datetime) -> None:
    message = _message(ticket, MessageKind.INBOUND, mail, now)
    ticket.activity_at = ticket.updated_at = now
    if ticket.status in (TicketStatus.PENDING, TicketStatus.RESOLVED):
        change_status(None, ticket, TicketStatus.OPEN, now, reason="requester_replied")
    db.session.flush()
    audit.record(None, "message_inbound", ticket, {"message_id": {"before": None, "after": message.id}})
    reindex(ticket)


def _add_automatic(ticket: Ticket, mail: ParsedMail, now: datetime) -> None:
    """An auto-reply or a bounce on a known thread: kept on the ticket, which does not reopen."""
    kind = MessageKind.BOUNCE if mail.automatic == "bounce" else MessageKind.AUTO_REPLY
    _message(ticket, kind, mail, now)
    ticket.activity_at = now
    if kind is MessageKind.BOUNCE:
        bounced = db.session.scalars(select(Message).where(
            Message.ticket_id == ticket.id, Message.message_id.in_(mail.thread_ids),
            Message.kind.in_([MessageKind.REPLY, MessageKind.ACKNOWLEDGEMENT]))).all()
        for reply in bounced:
            reply.bounced_at = now
            audit.record(None, "reply_bounced", ticket, {"message_id": {"before": None, "after": reply.id}})
        if bounced and ticket.assignee is not None and ticket.assignee.is_active:
            queue_mail([ticket.assignee.email], f"[{ticket.reference}] No s'ha pogut lliurar la resposta / "
                       f"Reply not delivered", f"{ticket.reference} {ticket.subject}\n\n{mail.text[:2000]}",
                       headers={"Auto-Submitted": "auto-generated", mailing.LOOP_HEADER: mailing.desk_domain()},
                       domain=mailing.desk_domain(), related=ticket)


def _hold_filtered(mail: ParsedMail, raw: bytes, sha256: str, mailbox: str, now: datetime) -> None:
    db.session.add(HeldMail(kind="filtered", mailbox=mailbox, message_id=mail.message_id,
                            from_address=mail.from_address, subject=mail.subject[:998],
                            reason=mail.automatic_reason, raw_sha256=sha256, size=len(raw), received_at=now))


def ticket_held(held: HeldMail, actor: User | None, now: datetime | None = None) -> Ticket:
    """An administrator turns a filtered message into a ticket (it is not acknowledged: a machine wrote it)."""
    now = now or utcnow()
    mail = parse(files().read(held.raw_sha256))
    ticket = open_ticket(None, TicketData(
        subject=mail.subject or "(sense assumpte)", body=mail.text, channel=Channel.EMAIL,
        requester_name=mail.from_name, requester_email=mail.from_address if "@" in mail.from_address else "",
        attachments=_uploads(mail), message_fields=_fields(mail)), now, from_mail=True)
    ticket.messages[0].body_html = _html(mail, ticket.messages[0])
    held.status, held.resolved_at, held.ticket_id = "ticketed", now, ticket.id
    audit.record(actor, "created_from_filtered_mail", ticket, {})
    return ticket


def retry(held: HeldMail, now: datetime | None = None) -> Outcome:
    """Run a quarantined message through the pipeline again (after an upgrade, say)."""
    raw = files().read(held.raw_sha256)
    db.session.execute(ReceivedMail.__table__.delete().where(
        ReceivedMail.mailbox == held.mailbox, ReceivedMail.message_id == held.message_id,
        ReceivedMail.outcome == "quarantined"))
    held.status, held.resolved_at = "retried", now or utcnow()
    db.session.commit()
    outcome = ingest(raw, held.mailbox, now)
    return outcome


def held_query(kind: str):
    return select(HeldMail).where(HeldMail.kind == kind, HeldMail.status == "held").order_by(HeldMail.id.desc())
