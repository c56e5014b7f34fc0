"""Incoming mail → tickets: the one pipeline. Read, recognise duplicates, route, write; nothing lost.

Each raw message is kept whole in the file store and read (``read``; ``mail import`` reads in worker
processes), then taken in by ``ingest_many``: recognised as one already taken (same mailbox, Message-ID
and content digest), threaded onto its ticket (threads.py), opened as a new ticket, held as filtered
(machine-written and off any thread) or, when its content cannot be processed, held whole in quarantine
with the reason. One message or ten thousand go through the same code: the ticket services, a chunk of
``CHUNK`` messages per transaction; a single message is a chunk of one.

Failures are told apart. A message whose content breaks something is quarantined on its own (the
messages of its chunk before and after it are taken as usual). When the database, the file store or the
disk fails, it is not the message's fault: the chunk is rolled back, nothing of it is recorded as
received, and ``Outage`` is raised so that the fetcher leaves the mail on the server and tries again,
and ``mail import`` stops saying where to resume.
"""
from __future__ import annotations

import errno
import logging
import multiprocessing
from collections import deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import islice
from multiprocessing.pool import AsyncResult
from pathlib import Path
from typing import Any, Iterable, Iterator

from flask import current_app
from sqlalchemy import Select, delete, func, insert, select
from sqlalchemy import exc as sa_exc

from helpdesk.auth.models import User
from helpdesk.core import audit, search
from helpdesk.core.html import sanitize_html
from helpdesk.core.models import utcnow
from helpdesk.core.storage import BlobStore, StorageError
from helpdesk.councils.models import Contact, Council
from helpdesk.councils.services import council_for_domain
from helpdesk.extensions import db
from helpdesk.mail.models import HeldKind, HeldMail, HeldStatus, OutcomeKind, ReceivedMail
from helpdesk.mail.parsing import ParsedMail, content_digest, parse
from helpdesk.mail.threads import find_thread, known_threads
from helpdesk.tickets import mailing
from helpdesk.tickets.models import Message, Ticket
from helpdesk.tickets.services import (MailMessage, TicketData, Upload, blob_store, mark_bounced, new_ticket,
                                       open_ticket, opened, receive_mail, received)
from helpdesk.tickets.states import Channel, MessageKind, TicketStatus

log = logging.getLogger(__name__)
CHUNK = 200  # messages per transaction


@dataclass(frozen=True)
class Outcome:
    kind: OutcomeKind
    ticket_id: int | None = None
    detail: str = ""
    is_message_id_reused: bool = False
    source: str = ""  # where the message came from (a file, a mailbox's UID), for the import's report


@dataclass(frozen=True)
class Arrival:
    """A raw message stored and read: all that needs no database (``mail import`` reads in parallel)."""

    sha256: str
    size: int
    digest: str
    mail: ParsedMail | None  # None when it could not be read: ``problem`` says why
    problem: str = ""
    source: str = ""


class Outage(Exception):
    """The database, the file store or the disk failed: nothing of the messages in hand was recorded."""

    def __init__(self, source: str, error: BaseException, taken: int) -> None:
        if isinstance(error, sa_exc.DBAPIError) and error.orig is not None:
            error = error.orig  # the driver's words, without the statement SQLAlchemy adds
        if isinstance(error, StorageError):
            words = error.detail
        else:
            words = f"{error.__class__.__name__}: {str(error).strip().splitlines()[0] if str(error).strip() else ''}"
        super().__init__(words)
        self.source, self.error, self.taken = source, error, taken


def is_outage(error: BaseException) -> bool:
    """A failure of what the desk runs on (database, file store, disk), not of a message's content."""
    if isinstance(error, Outage | StorageError | sa_exc.OperationalError | sa_exc.InterfaceError |
                  sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EROFS, errno.EIO, errno.EDQUOT,
                                                          errno.EACCES, errno.EPERM, errno.ENOENT, errno.ENOTDIR)


def read(raw: bytes, root: Path, max_bytes: int, source: str = "") -> Arrival:
    """Keep the raw bytes (and the files the message carries) under ``root``, then parse them."""
    store = BlobStore(root)
    sha256 = store.put(raw)
    digest = content_digest(raw)
    if len(raw) > max_bytes:
        return Arrival(sha256, len(raw), digest, None, f"larger than {max_bytes} bytes", source)
    try:
        mail = parse(raw)
    except Exception as error:  # a parser crash on some unforeseen input: keep the bytes
        log.exception("could not parse message %s", sha256)
        return Arrival(sha256, len(raw), digest, None, f"unreadable: {error!r}", source)
    for attachment in mail.attachments:
        store.put(attachment.data)  # stored again later is only a look at the disk
    return Arrival(sha256, len(raw), digest, mail, "", source)


def arrive(raw: bytes, source: str = "") -> Arrival:
    return read(raw, blob_store().root, current_app.config["MAIL_MAX_BYTES"], source)


def _read_sourced(item: tuple[str, bytes], root: Path, max_bytes: int) -> Arrival:
    return read(item[1], root, max_bytes, item[0])


def read_many(raws: Iterable[tuple[str, bytes]], jobs: int = 1) -> Iterator[Arrival]:
    """``read`` each (source, raw message), in order; with ``jobs`` > 1 in that many processes, a few
    chunks ahead of the caller (who meanwhile writes to the database)."""
    reader = partial(_read_sourced, root=blob_store().root, max_bytes=current_app.config["MAIL_MAX_BYTES"])
    if jobs <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for item in raws:
            try:
                yield reader(item)
            except Exception as error:
                if is_outage(error):
                    raise Outage(item[0], error, 0) from error
                raise
        return
    items = iter(raws)
    with multiprocessing.get_context("fork").Pool(jobs) as pool:  # forked: the workers need not start the app
        ahead: deque[tuple[str, AsyncResult[list[Arrival]]]] = deque()
        while window := list(islice(items, CHUNK)):
            ahead.append((window[0][0], pool.map_async(reader, window, chunksize=max(1, len(window) // (jobs * 4)))))
            if len(ahead) > 2:
                yield from _results(*ahead.popleft())
        while ahead:
            yield from _results(*ahead.popleft())


def _results(source: str, pending: AsyncResult[list[Arrival]]) -> list[Arrival]:
    try:
        return pending.get()
    except Exception as error:  # the store failed in a worker: say where, as the main process would
        if is_outage(error):
            raise Outage(source, error, 0) from error
        raise


def ingest(raw: bytes, mailbox: str, now: datetime | None = None, source: str = "") -> Outcome:
    """Take one raw message into the desk and commit; ``Outage`` when the desk itself failed, never an
    error for anything the message contains."""
    try:
        arrival = arrive(raw, source)
    except Exception as error:
        if is_outage(error):
            raise Outage(source, error, 0) from error
        raise
    return ingest_many([arrival], mailbox, now)[0]


def ingest_many(arrivals: Iterable[Arrival], mailbox: str, now: datetime | None = None) -> list[Outcome]:
    """Take messages in, in order, a chunk per transaction; the outcome of each. ``Outage`` (after the
    chunks before it were committed) when the database, the store or the disk failed."""
    outcomes: list[Outcome] = []
    arrivals = iter(arrivals)
    while True:
        try:
            chunk = list(islice(arrivals, CHUNK))
        except Outage as outage:
            outage.taken = len(outcomes)
            raise
        if not chunk:
            return outcomes
        outcomes += _ingest_chunk(chunk, mailbox, now or utcnow(), len(outcomes))


def _ingest_chunk(chunk: list[Arrival], mailbox: str, now: datetime, taken: int) -> list[Outcome]:
    """The chunk in one transaction. A message that fails is taken again alone, and quarantined if it
    fails alone; the others are taken again around it. An outage rolls the chunk back: ``Outage``."""
    if not chunk:
        return []
    intake = None
    try:
        intake = Intake(mailbox, now, chunk)
        with intake.writing():
            for arrival in chunk:
                intake.take(arrival)
            outcomes = intake.write()
        db.session.commit()
        return outcomes
    except Exception as error:
        db.session.rollback()
        if is_outage(error):
            log.info("outage while taking %s from %s: %s", chunk[0].source or "mail", mailbox, error)
            raise Outage(chunk[0].source, error, taken) from error
        failed = len(intake.taken) if intake is not None else 0
        reason = f"{error.__class__.__name__}: {error}"
        log.exception("could not take %s from %s", chunk[min(failed, len(chunk) - 1)].source or "a message",
                      mailbox)
    if len(chunk) == 1:  # a message alone that fails is held (unless another fetcher had it first)
        return [_quarantine_alone(chunk[0], mailbox, now, reason, taken)]
    if failed == len(chunk):  # the commit itself: take each on its own
        return [outcome for position, arrival in enumerate(chunk)
                for outcome in _ingest_chunk([arrival], mailbox, now, taken + position)]
    # Taken again in three parts: what came before, the one being taken (alone: a race with another
    # fetcher passes then), the rest. A row refused at a later flush may be an earlier message's: then the
    # first part fails in turn and is split again, until the message at fault is alone.
    return (_ingest_chunk(chunk[:failed], mailbox, now, taken)
            + _ingest_chunk([chunk[failed]], mailbox, now, taken + failed)
            + _ingest_chunk(chunk[failed + 1:], mailbox, now, taken + failed + 1))


def _quarantine_alone(arrival: Arrival, mailbox: str, now: datetime, reason: str, taken: int) -> Outcome:
    """Hold a message whose content failed, in a transaction of its own (unless it turns out another
    fetcher took the same message meanwhile)."""
    try:
        intake = Intake(mailbox, now, [arrival])
        with intake.writing():
            if intake.duplicate(arrival) is None:
                intake.hold(arrival, HeldKind.QUARANTINED, reason)
            [outcome] = intake.write()
        db.session.commit()
        return outcome
    except Exception as error:
        db.session.rollback()
        if is_outage(error):
            raise Outage(arrival.source, error, taken) from error
        raise


@dataclass
class Taken:
    """A message taken in a chunk, before the chunk is written: its outcome but the ticket's number."""

    arrival: Arrival
    kind: OutcomeKind
    ticket: Ticket | None = None
    detail: str = ""
    is_message_id_reused: bool = False
    row: ReceivedMail | None = None  # its ledger row (none for a duplicate)


@dataclass
class Intake:
    """Taking the messages of one chunk, in one transaction: what the database says about them is asked
    once for the whole chunk, and the chunk is written at once (``write``): its tickets and messages in
    one flush, then what needs their numbers (audit events, search index, acknowledgements, the ledger)."""

    mailbox: str
    now: datetime
    chunk: list[Arrival]
    desk: set[str] = field(default_factory=set)
    ledger: dict[str, list[ReceivedMail]] = field(default_factory=dict)  # Message-ID → rows taken under it
    contacts: dict[str, Contact] = field(default_factory=dict)
    councils: dict[str, Council | None] = field(default_factory=dict)
    taken: list[Taken] = field(default_factory=list)
    threads: dict[str, Ticket] = field(default_factory=dict)  # Message-IDs of this chunk → their ticket
    stored_threads: dict[str, int] = field(default_factory=dict)  # Message-IDs they reference → stored tickets
    named_tickets: list[Ticket] = field(default_factory=list)  # the tickets they may name, loaded at once
    opened: list[tuple[Ticket, Ticket | None]] = field(default_factory=list)  # (new ticket, ticket it names)
    added: list[tuple[Ticket, Message]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.desk = mailing.desk_addresses()
        mails = [arrival.mail for arrival in self.chunk if arrival.mail is not None]
        ids = {mail.message_id for mail in mails}
        if ids:
            for row in db.session.scalars(select(ReceivedMail).where(ReceivedMail.mailbox == self.mailbox,
                                                                     ReceivedMail.message_id.in_(ids))):
                self.ledger.setdefault(row.message_id, []).append(row)
        self.stored_threads, self.named_tickets = known_threads(mails)
        addresses = {mail.from_address for mail in mails if mail.from_address}
        if addresses:
            for contact in db.session.scalars(select(Contact).where(func.lower(Contact.email).in_(addresses))
                                              .order_by(Contact.id.desc())):
                self.contacts[(contact.email or "").lower()] = contact  # the first of several with one address

    @contextmanager
    def writing(self) -> Iterator[None]:
        """While the chunk is taken: nothing is flushed before ``write`` (what this chunk took is known
        here, not asked of the database), and audit events and the search index are kept for it."""
        with db.session.no_autoflush, audit.collected(), search.collected(db.session()):
            yield

    def take(self, arrival: Arrival) -> None:
        """Take one message: a duplicate, held (filtered, quarantined) or on a ticket."""
        if self.duplicate(arrival) is not None:
            return
        mail = arrival.mail
        if mail is None:
            self.hold(arrival, HeldKind.QUARANTINED, arrival.problem)
            return
        reused = bool(self.ledger.get(mail.message_id))
        kind, ticket, detail = self._route(arrival, mail, reused)
        if kind is not OutcomeKind.FILTERED:  # (held mail records itself)
            self._record(Taken(arrival, kind, ticket, detail, reused))
        if ticket is not None:
            self.threads[mail.message_id] = ticket

    def duplicate(self, arrival: Arrival) -> Taken | None:
        """The same message (mailbox, Message-ID, content) taken already: noted as a duplicate."""
        message_id = arrival.mail.message_id if arrival.mail is not None else ""
        for row in self.ledger.get(message_id, []):
            if row.content_digest is None:  # taken before digests existed: work it out from the stored file
                row.content_digest = content_digest(blob_store().read(row.raw_sha256))
            if row.content_digest == arrival.digest:
                taken = Taken(arrival, OutcomeKind.DUPLICATE, detail=message_id)
                taken.row = row  # (its ticket is the one the first copy went to)
                self.taken.append(taken)
                return taken
        return None

    def hold(self, arrival: Arrival, kind: HeldKind, reason: str) -> None:
        """Keep the message aside whole, for an administrator; recorded, so that fetching it again does not
        hold it twice (a retry takes it out of the ledger again)."""
        mail = arrival.mail
        db.session.add(HeldMail(kind=kind, mailbox=self.mailbox, message_id=mail.message_id if mail else "",
                                from_address=mail.from_address if mail else "",
                                subject=(mail.subject if mail else "")[:998], reason=reason[:4000],
                                raw_sha256=arrival.sha256, size=arrival.size, received_at=self.now))
        reused = bool(mail and self.ledger.get(mail.message_id))
        self._record(Taken(arrival, OutcomeKind(kind.value), None, reason, reused))

    def _record(self, taken: Taken) -> None:
        arrival = taken.arrival
        message_id = arrival.mail.message_id if arrival.mail is not None else ""
        taken.row = ReceivedMail(mailbox=self.mailbox, message_id=message_id, content_digest=arrival.digest,
                                 raw_sha256=arrival.sha256, size=arrival.size, received_at=self.now,
                                 outcome=taken.kind, is_message_id_reused=taken.is_message_id_reused)
        self.taken.append(taken)
        self.ledger.setdefault(message_id, []).append(taken.row)

    def write(self) -> list[Outcome]:
        """Write the chunk; the outcome of each message, in order."""
        db.session.flush()  # every ticket, message and file of the chunk, in one go: now they have numbers
        for ticket, mentioned in self.opened:
            opened(None, ticket)
            if mentioned is not None:
                audit.record(None, "mentions", ticket, {"mentions_id": {"before": None, "after": mentioned.id}})
        for ticket, message in self.added:
            received(ticket, message)
        mailing.acknowledge_all([ticket for ticket, _ in self.opened], self.now)
        ledger = [(taken.row, taken.ticket) for taken in self.taken
                  if taken.kind is not OutcomeKind.DUPLICATE and taken.row is not None]
        if ledger:
            columns = [column.key for column in ReceivedMail.__table__.columns if column.key != "id"]
            for row, on in ledger:
                row.ticket_id = on.id if on is not None else None
            db.session.execute(insert(ReceivedMail), [{key: getattr(row, key) for key in columns} for row, _ in ledger])
        audit.write_collected()
        search.write_collected(db.session())
        db.session.flush()
        return [Outcome(taken.kind, taken.ticket.id if taken.ticket is not None else
                        (taken.row.ticket_id if taken.row is not None else None), taken.detail,
                        taken.is_message_id_reused, taken.arrival.source) for taken in self.taken]

    def _route(self, arrival: Arrival, mail: ParsedMail, reused: bool) -> tuple[OutcomeKind, Ticket | None, str]:
        if mail.from_address in self.desk and not mail.automatic:
            mail.automatic, mail.automatic_reason = "auto_reply", "sent by the desk itself"
        thread = find_thread(mail, self.threads, self.stored_threads)
        ticket = thread.ticket
        if mail.automatic:
            if ticket is None or thread.by_subject:
                self.hold(arrival, HeldKind.FILTERED, mail.automatic_reason)
                return OutcomeKind.FILTERED, None, mail.automatic_reason
            kind = MessageKind.BOUNCE if mail.automatic == "bounce" else MessageKind.AUTO_REPLY
            self._add(ticket, kind, mail, reused)
            if kind is MessageKind.BOUNCE and mark_bounced(ticket, mail.thread_ids, self.now):
                mailing.tell_reply_bounced(ticket, mail.text)
            return OutcomeKind.FOLLOW_UP, ticket, mail.automatic
        if ticket is None:
            return OutcomeKind.NEW_TICKET, self._open(mail, thread.mentioned, reused), ""
        if ticket.status is TicketStatus.CLOSED:
            return OutcomeKind.NEW_TICKET, self._open(mail, ticket, reused), f"follow-up of closed {ticket.reference}"
        self._add(ticket, MessageKind.INBOUND, mail, reused)
        return OutcomeKind.FOLLOW_UP, ticket, ""

    def _add(self, ticket: Ticket, kind: MessageKind, mail: ParsedMail, reused: bool) -> None:
        message = receive_mail(ticket, MailMessage(kind, mail.text, _html(mail), uploads(mail), fields(mail),
                                                   reused), self.now)
        if "cid:" in mail.html:
            db.session.flush()  # (rare) the inline images' addresses need their files' ids
            _inline_images(message, mail)
        self.added.append((ticket, message))

    def _open(self, mail: ParsedMail, mentioned: Ticket | None, reused: bool) -> Ticket:
        contact = self.contacts.get(mail.from_address) if mail.from_address else None
        ticket = new_ticket(None, ticket_data(mail, contact, self._council(mail.from_address, contact),
                                              mentioned, reused), self.now, from_mail=True)
        db.session.add(ticket)
        if "cid:" in mail.html:
            db.session.flush()
            _inline_images(ticket.messages[0], mail)
        self.opened.append((ticket, mentioned))
        return ticket

    def _council(self, address: str, contact: Contact | None) -> Council | None:
        if contact is not None:
            return contact.council
        domain = address.rpartition("@")[2] if address else ""
        if domain and domain not in self.councils:
            self.councils[domain] = council_for_domain(address)
        return self.councils.get(domain)


def uploads(mail: ParsedMail) -> list[Upload]:
    return [Upload(item.filename, item.data, item.content_type) for item in mail.attachments]


def _html(mail: ParsedMail) -> str:
    return sanitize_html(mail.html) if mail.html else ""


def _inline_images(message: Message, mail: ParsedMail) -> None:
    """Point the message's inline ``cid:`` images at their stored attachments (whose ids the flush gave)."""
    if "cid:" not in mail.html:
        return
    html = mail.html
    for stored, original in zip(message.attachments, mail.attachments, strict=False):
        if original.content_id:
            html = html.replace(f"cid:{original.content_id}", f"/attachments/{stored.id}/{stored.filename}")
    message.body_html = sanitize_html(html)


def fields(mail: ParsedMail) -> dict[str, str]:
    """The message's columns that come from the mail's headers."""
    return {"message_id": mail.message_id, "from_name": mail.from_name, "from_address": mail.from_address,
            "to_addresses": ", ".join(address for _, address in mail.to),
            "cc_addresses": ", ".join(address for _, address in mail.cc), "subject": mail.subject}


def ticket_data(mail: ParsedMail, contact: Contact | None, council: Council | None, mentioned: Ticket | None,
                reused: bool = False) -> TicketData:
    body = mail.text
    if mentioned is not None:
        body = f"[{mentioned.reference}] {body}"
    message_fields: dict[str, Any] = {**fields(mail), "body_html": _html(mail), "is_message_id_reused": reused}
    return TicketData(
        subject=mail.subject or "(sense assumpte)", body=body, channel=Channel.EMAIL,
        council_id=council.id if council else None, requester_contact_id=contact.id if contact else None,
        requester_name=mail.from_name, requester_email=mail.from_address if "@" in mail.from_address else "",
        attachments=uploads(mail), message_fields=message_fields)


def ticket_held(held: HeldMail, actor: User | None, now: datetime | None = None) -> Ticket:
    """An administrator turns a filtered message into a ticket (it is not acknowledged: a machine wrote it)."""
    now = now or utcnow()
    mail = parse(blob_store().read(held.raw_sha256))
    ticket = open_ticket(None, ticket_data(mail, None, None, None), now, from_mail=True)
    _inline_images(ticket.messages[0], mail)
    held.status, held.resolved_at, held.ticket_id = HeldStatus.TICKETED, now, ticket.id
    audit.record(actor, "created_from_filtered_mail", ticket, {})
    return ticket


def retry(held: HeldMail, now: datetime | None = None) -> Outcome:
    """Run a quarantined message through the pipeline again (after an upgrade, say), in one transaction:
    taken, it leaves the quarantine; failing again, it stays there with the new reason; an outage changes
    nothing and raises ``Outage``."""
    now = now or utcnow()
    held_id = held.id
    arrival = arrive(blob_store().read(held.raw_sha256), f"quarantined #{held_id}")
    reason = arrival.problem
    if arrival.mail is not None:
        try:
            db.session.execute(delete(ReceivedMail).where(
                ReceivedMail.mailbox == held.mailbox, ReceivedMail.raw_sha256 == held.raw_sha256,
                ReceivedMail.outcome == OutcomeKind.QUARANTINED))
            intake = Intake(held.mailbox, now, [arrival])
            with intake.writing():
                intake.take(arrival)
                [outcome] = intake.write()
            held.status, held.resolved_at = HeldStatus.RETRIED, now
            db.session.commit()
            return outcome
        except Exception as error:
            db.session.rollback()
            if is_outage(error):
                raise Outage(arrival.source, error, 0) from error
            log.exception("quarantined message %s failed again", held_id)
            reason = f"{error.__class__.__name__}: {error}"
    held = db.session.get_one(HeldMail, held_id)
    held.reason = f"{reason} (retried {now:%Y-%m-%d %H:%M} UTC)"[:4000]
    _commit(arrival.source, 0)
    return Outcome(OutcomeKind.QUARANTINED, detail=reason, source=arrival.source)


def _commit(source: str, taken: int) -> None:
    try:
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        if is_outage(error):
            raise Outage(source, error, taken) from error
        raise


def held_query(kind: HeldKind) -> Select[tuple[HeldMail]]:
    return select(HeldMail).where(HeldMail.kind == kind, HeldMail.status == HeldStatus.HELD).order_by(HeldMail.id.desc())
