"""Incoming mail → tickets: each message taken once, on the right ticket, and nothing lost.

Each raw message is stored, then recorded once per mailbox (by Message-ID, or a hash of its bytes when
it has none), threaded onto its ticket, opened as a new ticket, filed as filtered (machine-written and
off any thread), or — when anything goes wrong — kept whole in quarantine with the reason. The IMAP
fetcher (a message at a time) and ``helpdesk mail import`` (many) both run ``ingest_many``: the common
mail is written in batches (bulk.py), any other through the ticket services one message at a time
(``ingest_one``), with the same result.
"""
from __future__ import annotations

import logging
import multiprocessing
import re
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.html import sanitize_html
from helpdesk.mail.parsing import ParsedMail, parse
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import queue_mail
from helpdesk.core.storage import BlobStore
from helpdesk.councils.models import Contact, Council
from helpdesk.councils.services import council_for_address, council_for_domain
from helpdesk.extensions import db
from helpdesk.tickets import mailing
from helpdesk.tickets.bulk import Batch
from helpdesk.tickets.models import Message, Ticket
from helpdesk.mail.models import HeldKind, HeldMail, HeldStatus, OutcomeKind, ReceivedMail
from helpdesk.tickets.services import (TicketData, Upload, blob_store, change_status, new_ticket, open_ticket,
                                       reindex, store_attachments)
from helpdesk.tickets.states import Channel, MessageKind, TicketStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    kind: str  # new_ticket, follow_up, filtered, quarantined, duplicate
    ticket_id: int | None = None
    detail: str = ""


@dataclass(frozen=True)
class Arrival:
    """A raw message stored and read: all that needs no database (``mail import`` reads in parallel)."""

    sha256: str
    size: int
    mail: ParsedMail | None  # None when it could not be read: ``problem`` says why
    problem: str = ""


def read(raw: bytes, root: Path, max_bytes: int) -> Arrival:
    """Keep the raw bytes (and the files the message carries) under ``root``, then parse them."""
    store = BlobStore(root)
    sha256 = store.put(raw)
    if len(raw) > max_bytes:
        return Arrival(sha256, len(raw), None, f"larger than {max_bytes} bytes")
    try:
        mail = parse(raw)
    except Exception as error:  # a parser crash on some unforeseen input: keep the bytes
        log.exception("could not parse message %s", sha256)
        return Arrival(sha256, len(raw), None, f"unreadable: {error!r}")
    for attachment in mail.attachments:
        store.put(attachment.data)  # stored again later is only a look at the disk
    return Arrival(sha256, len(raw), mail)


def arrive(raw: bytes) -> Arrival:
    return read(raw, blob_store().root, current_app.config["MAIL_MAX_BYTES"])


def read_many(raws: Iterable[bytes], jobs: int = 1) -> Iterator[Arrival]:
    """``read`` each raw message, in order; with ``jobs`` > 1 in that many processes, a few batches ahead
    of the caller (who meanwhile writes to the database)."""
    reader = partial(read, root=blob_store().root, max_bytes=current_app.config["MAIL_MAX_BYTES"])
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        yield from map(reader, raws)
        return
    raws = iter(raws)
    with multiprocessing.get_context("fork").Pool(jobs) as pool:  # forked: the workers need not start the app
        ahead: deque = deque()
        while window := list(islice(raws, BATCH_SIZE)):
            ahead.append(pool.map_async(reader, window, chunksize=max(1, len(window) // (jobs * 4))))
            if len(ahead) > 2:
                yield from ahead.popleft().get()
        while ahead:
            yield from ahead.popleft().get()


def ingest(raw: bytes, mailbox: str, now: datetime | None = None) -> Outcome:
    """Take one raw message into the desk and commit; never raises for anything the message contains."""
    return ingest_many([arrive(raw)], mailbox, now)[0]


def ingest_one(arrival: Arrival, mailbox: str, now: datetime | None = None) -> Outcome:
    """One message through the ticket services, in its own transaction."""
    now = now or utcnow()
    mail = arrival.mail
    if mail is None:
        return _hold("quarantined", arrival, mailbox, None, arrival.problem, now)
    if db.session.scalar(select(ReceivedMail.id).where(ReceivedMail.mailbox == mailbox,
                                                       ReceivedMail.message_id == mail.message_id)):
        return Outcome("duplicate", detail=mail.message_id)
    try:  # the session holds nothing else: each message is its own transaction
        outcome = _route(mail, arrival, mailbox, now)
        db.session.add(ReceivedMail(**_ledger(arrival, mailbox, now), outcome=OutcomeKind(outcome.kind),
                                    ticket_id=outcome.ticket_id))
        db.session.commit()
        return outcome
    except IntegrityError:
        db.session.rollback()  # another fetcher took the same message at the same moment
        return Outcome("duplicate", detail=mail.message_id)
    except Exception as error:
        db.session.rollback()
        log.exception("could not process %s from %s", mail.message_id, mailbox)
        return _hold("quarantined", arrival, mailbox, mail, f"{error.__class__.__name__}: {error}", now)


BATCH_SIZE = 200


def ingest_many(arrivals: Iterable[Arrival], mailbox: str, now: datetime | None = None) -> list[Outcome]:
    """Take messages in, in order, with the result ``ingest_one`` would give each. The common ones — a new
    request, a reply on a ticket in progress — are written together, a batch per transaction (bulk.py);
    any other (automatic mail, a reply on a waiting, resolved, closed or merged ticket, a subject naming a
    ticket, inline images, what could not be read) goes through the services on its own, in its turn."""
    arrivals, outcomes = iter(arrivals), []
    while chunk := list(islice(arrivals, BATCH_SIZE)):
        outcomes += _ingest_chunk(chunk, mailbox, now or utcnow())
    return outcomes


def _ingest_chunk(chunk: list[Arrival], mailbox: str, now: datetime) -> list[Outcome]:
    outcomes: list[Outcome | None] = []
    batch, batched, known = Batch(mailbox, now), [], _Known(chunk, mailbox)
    for position, arrival in enumerate(chunk):
        taken = _take(arrival, batch, known, now)
        if taken == "duplicate":
            outcomes.append(Outcome("duplicate", detail=arrival.mail.message_id))
        elif taken:
            outcomes.append(None)
            batched.append((len(outcomes) - 1, arrival))
        else:
            _write(batch, batched, outcomes, mailbox, now)
            outcomes.append(ingest_one(arrival, mailbox, now))
            batch, batched, known = Batch(mailbox, now), [], _Known(chunk[position + 1:], mailbox)
    _write(batch, batched, outcomes, mailbox, now)
    return outcomes


def _write(batch: Batch, batched: list[tuple[int, Arrival]], outcomes: list, mailbox: str, now: datetime) -> None:
    if not batched:
        return
    try:
        written = batch.write()
        db.session.commit()
    except Exception:  # a row the database refuses (another fetcher was first, say): each on its own
        db.session.rollback()
        log.exception("%d messages could not be written together; taking them one by one", len(batched))
        for position, arrival in batched:
            outcomes[position] = ingest_one(arrival, mailbox, now)
        return
    for (position, _arrival), (kind, number) in zip(batched, written, strict=True):
        outcomes[position] = Outcome(kind, number)


def _take(arrival: Arrival, batch: Batch, known: _Known, now: datetime) -> str | None:
    """Add a common message to the batch ("batched"), or say it was taken already ("duplicate"); None
    for one the services must take on its own."""
    mail = arrival.mail
    if mail is None or mail.automatic or mail.from_address in known.desk or "cid:" in mail.html:
        return None
    if mail.message_id in known.received or mail.message_id in batch.threads:
        return "duplicate"
    ticket = _thread(mail, batch, known)
    try:
        if ticket is None:
            if subject_tag(mail.subject) is not None:
                return None
            contact = known.contacts.get(mail.from_address)
            data = _ticket_data(mail, contact, known.council(mail.from_address, contact), None)
            batch.open(new_ticket(None, data, now, from_mail=True), _ledger(arrival, batch.mailbox, now))
            return "batched"
        if ticket.merged_into_id or ticket.status in (TicketStatus.PENDING, TicketStatus.RESOLVED,
                                                      TicketStatus.CLOSED):
            return None
        message = Message(kind=MessageKind.INBOUND, body_text=mail.text, created_at=now, body_html=_html(mail, None),
                          **_fields(mail))
        store_attachments(message, _uploads(mail))
        batch.follow(ticket, message, _ledger(arrival, batch.mailbox, now))
        return "batched"
    except Exception:  # whatever the services would refuse, they refuse (and quarantine) on their own
        log.exception("could not batch %s", mail.message_id)
        return None


def _thread(mail: ParsedMail, batch: Batch, known: _Known) -> Ticket | None:
    """``find_thread`` with what was asked for the whole chunk, and this batch's messages."""
    for message_id in mail.thread_ids:
        if message_id in batch.threads:
            return batch.threads[message_id]
        number = known.threads.get(message_id) or mailing.ticket_from_message_id(message_id)
        if number and (ticket := db.session.get(Ticket, number)) is not None:
            return ticket
    return None


class _Known:
    """What the database says about a chunk of messages, asked once for all of them."""

    def __init__(self, chunk: list[Arrival], mailbox: str) -> None:
        mails = [arrival.mail for arrival in chunk if arrival.mail is not None]
        self.desk = mailing.desk_addresses()
        self.received = set(db.session.scalars(select(ReceivedMail.message_id).where(
            ReceivedMail.mailbox == mailbox, ReceivedMail.message_id.in_({mail.message_id for mail in mails}))))
        self.threads = _ticket_numbers({message_id for mail in mails for message_id in mail.thread_ids})
        numbers = set(self.threads.values()) | {number for mail in mails for message_id in mail.thread_ids
                                                if (number := mailing.ticket_from_message_id(message_id))}
        # Loaded now (and held: the session's identity map keeps them only while referenced).
        self.tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(numbers))).all() if numbers else []
        self.contacts: dict[str, Contact] = {}
        addresses = {mail.from_address for mail in mails if mail.from_address}
        for contact in db.session.scalars(select(Contact).where(func.lower(Contact.email).in_(addresses))
                                          .order_by(Contact.id.desc())):
            self.contacts[contact.email.lower()] = contact  # the first of several with one address, as _contact
        self._councils: dict[str, Council | None] = {}

    def council(self, address: str, contact: Contact | None) -> Council | None:
        if contact is not None or not address:
            return _council(address, contact)
        domain = address.rpartition("@")[2]
        if domain not in self._councils:
            self._councils[domain] = _council(address, None)
        return self._councils[domain]


def _ticket_numbers(message_ids: set[str]) -> dict[str, int]:
    """The ticket of each stored message among ``message_ids`` (the latest, should one id be on several)."""
    if not message_ids:
        return {}
    return dict(db.session.execute(select(Message.message_id, Message.ticket_id)
                                   .where(Message.message_id.in_(message_ids)).order_by(Message.id)).all())


def _ledger(arrival: Arrival, mailbox: str, now: datetime) -> dict:
    return {"mailbox": mailbox, "message_id": arrival.mail.message_id, "raw_sha256": arrival.sha256,
            "size": arrival.size, "received_at": now}


def _hold(kind: str, arrival: Arrival, mailbox: str, mail: ParsedMail | None, reason: str,
          now: datetime) -> Outcome:
    held = HeldMail(kind=HeldKind(kind), mailbox=mailbox, message_id=mail.message_id if mail else "",
                    from_address=mail.from_address if mail else "", subject=(mail.subject if mail else "")[:998],
                    reason=reason[:4000], raw_sha256=arrival.sha256, size=arrival.size, received_at=now)
    db.session.add(held)
    if mail is not None and kind == "quarantined":
        # Recorded too, so that fetching it again does not quarantine it twice; a retry replaces this.
        db.session.add(ReceivedMail(**_ledger(arrival, mailbox, now), outcome=OutcomeKind.QUARANTINED))
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return Outcome("duplicate", detail=mail.message_id if mail else "")
    return Outcome(kind, detail=reason)


def _route(mail: ParsedMail, arrival: Arrival, mailbox: str, now: datetime) -> Outcome:
    desk = mailing.desk_addresses()
    ticket = find_thread(mail)
    if mail.from_address in desk and not mail.automatic:
        mail.automatic, mail.automatic_reason = "auto_reply", "sent by the desk itself"
    if mail.automatic:
        if ticket is None:
            _hold_filtered(mail, arrival, mailbox, now)
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
    by_id = _ticket_numbers(set(ids))
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
    number = subject_tag(mail.subject)
    ticket = db.session.get(Ticket, number) if number is not None else None
    if ticket is None:
        return None, None
    return (ticket, None) if may_write(mail.from_address, ticket) else (None, ticket)


def subject_tag(subject: str) -> int | None:
    """The ticket number a subject names: "[#123]", or with the configured prefix "[Participa311 #123]"."""
    tag = re.escape(current_app.config["MAIL_SUBJECT_TAG"])
    match = re.search(r"\[(?:" + tag + r"\s*)?#(\d{1,12})\]", subject, re.IGNORECASE)
    return int(match.group(1)) if match else None


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
    contact = _contact(mail.from_address)
    ticket = open_ticket(None, _ticket_data(mail, contact, _council(mail.from_address, contact), mentioned),
                         now, from_mail=True)
    if "cid:" in mail.html:
        ticket.messages[0].body_html = _html(mail, ticket.messages[0])
    if mentioned is not None:
        audit.record(None, "mentions", ticket, {"mentions_id": {"before": None, "after": mentioned.id}})
    mailing.acknowledge(ticket, now)
    return ticket


def _contact(address: str) -> Contact | None:
    return db.session.scalar(select(Contact).where(func.lower(Contact.email) == address).order_by(Contact.id)
                             .limit(1)) if address else None


def _council(address: str, contact: Contact | None) -> Council | None:
    return contact.council if contact else council_for_domain(address) if address else None


def _ticket_data(mail: ParsedMail, contact: Contact | None, council: Council | None,
                 mentioned: Ticket | None) -> TicketData:
    body = mail.text
    if mentioned is not None:
        body = f"[{mentioned.reference}] {body}"
    fields = _fields(mail)
    if "cid:" not in mail.html:
        fields["body_html"] = _html(mail, None)
    return TicketData(
        subject=mail.subject or "(sense assumpte)", body=body, channel=Channel.EMAIL,
        council_id=council.id if council else None, requester_contact_id=contact.id if contact else None,
        requester_name=mail.from_name, requester_email=mail.from_address if "@" in mail.from_address else "",
        attachments=_uploads(mail), message_fields=fields)


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
        if bounced:
            mailing.tell_reply_bounced(ticket, mail.text)


def _hold_filtered(mail: ParsedMail, arrival: Arrival, mailbox: str, now: datetime) -> None:
    db.session.add(HeldMail(kind=HeldKind.FILTERED, mailbox=mailbox, message_id=mail.message_id,
                            from_address=mail.from_address, subject=mail.subject[:998],
                            reason=mail.automatic_reason, raw_sha256=arrival.sha256, size=arrival.size,
                            received_at=now))


def ticket_held(held: HeldMail, actor: User | None, now: datetime | None = None) -> Ticket:
    """An administrator turns a filtered message into a ticket (it is not acknowledged: a machine wrote it)."""
    now = now or utcnow()
    mail = parse(blob_store().read(held.raw_sha256))
    ticket = open_ticket(None, TicketData(
        subject=mail.subject or "(sense assumpte)", body=mail.text, channel=Channel.EMAIL,
        requester_name=mail.from_name, requester_email=mail.from_address if "@" in mail.from_address else "",
        attachments=_uploads(mail), message_fields=_fields(mail)), now, from_mail=True)
    ticket.messages[0].body_html = _html(mail, ticket.messages[0])
    held.status, held.resolved_at, held.ticket_id = HeldStatus.TICKETED, now, ticket.id
    audit.record(actor, "created_from_filtered_mail", ticket, {})
    return ticket


def retry(held: HeldMail, now: datetime | None = None) -> Outcome:
    """Run a quarantined message through the pipeline again (after an upgrade, say)."""
    raw = blob_store().read(held.raw_sha256)
    db.session.execute(ReceivedMail.__table__.delete().where(
        ReceivedMail.mailbox == held.mailbox, ReceivedMail.message_id == held.message_id,
        ReceivedMail.outcome == "quarantined"))
    held.status, held.resolved_at = HeldStatus.RETRIED, now or utcnow()
    db.session.commit()
    outcome = ingest(raw, held.mailbox, now)
    return outcome


def held_query(kind: HeldKind):
    return select(HeldMail).where(HeldMail.kind == kind, HeldMail.status == HeldStatus.HELD).order_by(HeldMail.id.desc())
