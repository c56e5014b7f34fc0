"""Personal data under the GDPR: what the desk holds on a person (``export_person``), erasing it
(``pseudonymise_contact``, ``pseudonymise_user``) and the retention purge of old tickets (``purge``).

Erasing keeps the records (a ticket's subject and messages, a call's summary: the desk's own memory of its
work) and replaces the person in them: their name by "Persona 7f3a…", their e-mail address by
"pseudonym-7f3a…@invalid" (``.invalid`` can never be delivered to, RFC 2606) and their phone by nothing.
The pseudonym is an HMAC of the address under the SECRET_KEY: the same person gets the same pseudonym
everywhere (their tickets still read as one person's), and nobody without the key can go back from it.

A person is found by their records' ids and by their e-mail address (lower-cased) wherever the desk keeps
an address: other tables hold it as text (a reply's To:, an outbox row, a session's attendees, the audit
trail's before and after), so those are searched for the address, with ``LIKE``: a scan, acceptable for the
one person an administrator erases at a time; the purge works from ticket ids and stays on indexes.
"""
from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, String, Table, and_, cast, false, func, inspect, or_, select, update
from sqlalchemy.orm import selectinload

from helpdesk.accompaniment.models import AccompanimentRequest, AccompanimentSession
from helpdesk.auth import sessions
from helpdesk.auth.models import Role, SessionEnd, User
from helpdesk.catalog.models import CatalogRequest
from helpdesk.core import audit, search
from helpdesk.core.audit import AuditEvent, plain
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage
from helpdesk.councils.models import Contact, Council
from helpdesk.extensions import db
from helpdesk.mail.models import HeldMail
from helpdesk.tickets.models import Call, Message, Ticket
from helpdesk.tickets.services import change_status, indexed_text
from helpdesk.tickets.states import MessageKind, TicketStatus

EXPORT_FORMAT = "participa311-personal-data/1"
CHUNK = 200  # tickets a purge transaction takes (their messages, calls, audit rows and outbox rows with them)
DRY_RUN_SHOWN = 20  # ticket numbers a dry run lists
PSEUDONYM_NAME = re.compile(r"^Persona [0-9a-f]{8}$")
PSEUDONYM_EMAIL = re.compile(r"^pseudonym-[0-9a-f]{8}@invalid$")
# Columns never exported, whatever table they are in: what would let someone sign in as the person.
SECRET_COLUMN = re.compile(r"hash|digest|secret|token|sealed|password|totp_last_step")
# Columns of sign-in tables that say where a person was (IP address, browser): emptied on erasure.
TRACE_COLUMNS = ("address", "user_agent", "nickname")
# Tables this module reads by their models; the others that point at a user (or hold an e-mail address)
# are taken generically, so the sign-in record and sessions of the accounts domain are covered as they come.
_HANDLED = {"users", "contacts", "tickets", "messages", "calls", "audit_events", "outbox", "held_mail",
            "catalog_requests", "accompaniment_requests", "accompaniment_sessions", "councils"}


class NothingToErase(DomainError):
    """The person was erased already: nothing was changed."""


# --- pseudonyms ------------------------------------------------------------------------------------------

def pseudonym_token(key: str) -> str:
    """Eight hex digits that stand for ``key`` (an address, or a record's own name such as contact:7)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, key.strip().lower().encode(), hashlib.sha256).hexdigest()[:8]


def pseudonym_name(token: str) -> str:
    return f"Persona {token}"


def pseudonym_email(token: str) -> str:
    return f"pseudonym-{token}@invalid"


def is_pseudonym(value: str | None) -> bool:
    """Whether ``value`` is a pseudonym this module wrote (a name or an address)."""
    return bool(value) and bool(PSEUDONYM_EMAIL.match(value or "") or PSEUDONYM_NAME.match(value or ""))


@dataclass
class Scrubber:
    """What to replace: addresses wherever they appear in a text, names and phones as whole values; each
    address and name maps to the token of its pseudonym."""

    emails: dict[str, str] = field(default_factory=dict)  # lower-cased address → token
    names: dict[str, str] = field(default_factory=dict)  # name as stored → token
    phones: set[str] = field(default_factory=set)
    _pattern: re.Pattern[str] | None = None

    def add(self, token: str, email: str | None = None, name: str | None = None, phone: str | None = None) -> None:
        if email and not is_pseudonym(email):
            self.emails.setdefault(email.strip().lower(), token)
            self._pattern = None
        if name and name.strip() and not is_pseudonym(name):
            self.names.setdefault(name, token)
        if phone:
            self.phones.add(phone)

    def text(self, value: str) -> str:
        """``value`` with every known address replaced (not a longer address that ends with one)."""
        if not value or not self.emails:
            return value
        if self._pattern is None:
            alternatives = "|".join(re.escape(email) for email in sorted(self.emails, key=len, reverse=True))
            self._pattern = re.compile(rf"(?<![\w.%+-])(?:{alternatives})(?![\w-]|\.\w)", re.IGNORECASE)
        return self._pattern.sub(lambda match: pseudonym_email(self.emails[match.group(0).lower()]), value)

    def value(self, value: Any) -> Any:
        """A stored value (the audit trail's JSON) with names, phones and addresses replaced."""
        if isinstance(value, str):
            if value in self.names:
                return pseudonym_name(self.names[value])
            if value in self.phones:
                return ""
            return self.text(value)
        if isinstance(value, list):
            return [self.value(item) for item in value]
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        return value

    def contains(self, column: Any) -> ColumnElement[bool]:
        """The condition that ``column``'s text holds one of the addresses."""
        text = func.lower(cast(column, String))
        return or_(false(), *(text.contains(email, autoescape=True) for email in self.emails))


# --- who the person is -----------------------------------------------------------------------------------

@dataclass
class Person:
    """A contact (and the contacts of other councils with the same address) or a user (and their contacts)."""

    contacts: list[Contact]
    user: User | None
    emails: set[str]
    phones: set[str]

    @property
    def contact_ids(self) -> list[int]:
        return [contact.id for contact in self.contacts]

    @property
    def token(self) -> str:
        email = next(iter(sorted(self.emails)), None)
        if email:
            return pseudonym_token(email)
        if self.user is not None:
            return pseudonym_token(f"user:{self.user.id}")
        return pseudonym_token(f"contact:{self.contacts[0].id}")

    def ticket_condition(self) -> ColumnElement[bool]:
        """The tickets the person asked for: linked to their contact, from their address, or (a call from a
        number nobody else is known by) from their phone."""
        return or_(Ticket.requester_contact_id.in_(self.contact_ids) if self.contacts else false(),
                   func.lower(Ticket.requester_email).in_(self.emails) if self.emails else false(),
                   and_(Ticket.requester_phone.in_(self.phones), Ticket.requester_contact_id.is_(None),
                        Ticket.requester_email.is_(None)) if self.phones else false())

    def wrote(self) -> ColumnElement[bool]:
        """The messages the person wrote (a staff member's replies are the desk's, not theirs)."""
        conditions: list[ColumnElement[bool]] = [
            func.lower(Message.from_address).in_(self.emails) if self.emails else false(),
            Message.from_address.in_(self.phones) if self.phones else false()]
        if self.user is not None and not self.user.is_staff:
            conditions.append(Message.author_id == self.user.id)
        return or_(*conditions)


def person_of(record: Contact | User) -> Person:
    """The person a contact or a user is, with every contact record that shares their address."""
    if isinstance(record, User):
        email = record.email.strip().lower()
        contacts = list(db.session.scalars(select(Contact).where(func.lower(Contact.email) == email)
                                           .order_by(Contact.id))) if not is_pseudonym(email) else []
        user: User | None = record
    elif isinstance(record, Contact):
        email = (record.email or "").strip().lower()
        contacts = [record]
        if email and not is_pseudonym(email):
            contacts += list(db.session.scalars(select(Contact).where(
                func.lower(Contact.email) == email, Contact.id != record.id).order_by(Contact.id)))
        user = None
    else:
        raise TypeError(f"not a contact nor a user: {record!r}")
    emails = {email} if email and not is_pseudonym(email) else set()
    phones = {contact.phone for contact in contacts if contact.phone}
    return Person(contacts=contacts, user=user, emails=emails, phones=phones)


def require_admin(actor: User | None) -> None:
    """Administrators (or the command line, ``actor`` None) only."""
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators can export or erase personal data."))


# --- export ----------------------------------------------------------------------------------------------

def _row(record: Any, skip: Iterable[str] = ()) -> dict[str, Any]:
    """A record's columns as plain values, without secrets."""
    table = record.__table__
    return {column.key: plain(getattr(record, column.key)) for column in table.columns
            if column.key not in skip and not SECRET_COLUMN.search(column.key)}


def _existing_tables() -> set[str]:
    return set(inspect(db.session.connection()).get_table_names())


def _other_tables() -> list[tuple[Table, Any, Any]]:
    """The tables not read by model here that point at users (``user_id``) or hold an ``email``: the
    sign-in record, sessions, ticket reads… (only those the database has: the accounts domain adds some)."""
    found: list[tuple[Table, Any, Any]] = []
    existing = _existing_tables()
    for table in db.metadata.sorted_tables:
        if table.name in _HANDLED or table.name not in existing:
            continue
        by_user = table.c.user_id if "user_id" in table.c and any(
            key.column.table.name == "users" for key in table.c.user_id.foreign_keys) else None
        by_email = table.c.email if "email" in table.c else None
        if by_user is not None or by_email is not None:
            found.append((table, by_user, by_email))
    return found


def _rows_of(person: Person) -> Iterator[tuple[Table, ColumnElement[bool], Any]]:
    """Each other table holding ``person`` (by account or address), with the condition that picks their rows."""
    for table, by_user, by_email in _other_tables():
        conditions = []
        if by_user is not None and person.user is not None:
            conditions.append(by_user == person.user.id)
        if by_email is not None and person.emails:
            conditions.append(func.lower(by_email).in_(person.emails))
        if conditions:
            yield table, or_(*conditions), by_email


def _other_rows(person: Person) -> dict[str, list[dict[str, Any]]]:
    held: dict[str, list[dict[str, Any]]] = {}
    for table, condition, _ in _rows_of(person):
        rows = db.session.execute(select(table).where(condition).order_by(*table.primary_key.columns)).mappings()
        listed = [{key: plain(value) for key, value in row.items() if not SECRET_COLUMN.search(key)} for row in rows]
        if listed:
            held[table.name] = listed
    return held


def _message(message: Message) -> dict[str, Any]:
    return {"id": message.id, "ticket": message.ticket_id, "kind": message.kind.value,
            "created_at": plain(message.created_at), "from_name": message.from_name,
            "from_address": message.from_address, "to": message.to_addresses, "cc": message.cc_addresses,
            "subject": message.subject, "body_text": message.body_text,
            "attachments": [attachment.filename for attachment in message.attachments]}


def _call(call: Call) -> dict[str, Any]:
    return {"ticket": call.message.ticket_id, "direction": call.direction.value,
            "started_at": plain(call.started_at), "duration_seconds": call.duration_seconds,
            "caller_number": call.caller_number, "caller_name": call.caller_name, "summary": call.summary}


def export_person(actor: User | None, record: Contact | User) -> dict[str, Any]:
    """Everything the desk holds on a contact or a user, as JSON-serialisable data; audited."""
    require_admin(actor)
    person = person_of(record)
    scrub = Scrubber()
    for email in person.emails:
        scrub.emails[email] = email  # only to search the texts that name the address
    tickets = list(db.session.scalars(select(Ticket).where(person.ticket_condition()).order_by(Ticket.id)))
    messages = list(db.session.scalars(select(Message).where(person.wrote())
                                       .options(selectinload(Message.attachments)).order_by(Message.id)))
    written: dict[int | None, list[Message]] = {}
    for message in messages:
        written.setdefault(message.ticket_id, []).append(message)
    calls = list(db.session.scalars(select(Call).where(or_(
        Call.caller_number.in_(person.phones) if person.phones else false(),
        Call.message_id.in_([message.id for message in messages]) if messages else false())).order_by(Call.id)))
    user = person.user
    council_ids = {contact.council_id for contact in person.contacts} | ({user.council_id} if user and user.council_id
                                                                           else set())
    councils = list(db.session.scalars(select(Council).where(Council.id.in_(council_ids)).order_by(Council.name)))
    catalog = list(db.session.scalars(select(CatalogRequest).where(or_(
        CatalogRequest.referent_contact_id.in_(person.contact_ids) if person.contacts else false(),
        CatalogRequest.created_by_id == user.id if user else false())).order_by(CatalogRequest.id)))
    requests = list(db.session.scalars(select(AccompanimentRequest).where(or_(
        AccompanimentRequest.created_by_id == user.id if user else false(),
        scrub.contains(AccompanimentRequest.attendees))).order_by(AccompanimentRequest.id)))
    sessions = list(db.session.scalars(select(AccompanimentSession).where(or_(
        AccompanimentSession.adviser_id == user.id if user else false(),
        scrub.contains(AccompanimentSession.attendees))).order_by(AccompanimentSession.id)))
    held = list(db.session.scalars(select(HeldMail).where(
        func.lower(HeldMail.from_address).in_(person.emails) if person.emails else false()).order_by(HeldMail.id)))
    sent = list(db.session.scalars(select(OutboxMessage).where(or_(
        scrub.contains(OutboxMessage.to_addresses), scrub.contains(OutboxMessage.cc_addresses)))
        .order_by(OutboxMessage.id)))
    about = _about_condition(person, [ticket.id for ticket in tickets], with_tickets=False)
    events = list(db.session.scalars(select(AuditEvent).where(about).order_by(AuditEvent.id)))
    acted = list(db.session.scalars(select(AuditEvent).where(AuditEvent.actor_id == user.id).order_by(
        AuditEvent.id))) if user else []
    data: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "exported_at": plain(utcnow()),
        "subject": {"kind": "user" if isinstance(record, User) else "contact", "id": record.id},
        "user": _row(user) if user else None,
        "contacts": [_row(contact) for contact in person.contacts],
        "councils": [{"id": council.id, "name": council.name, "ine_code": council.ine_code} for council in councils],
        "tickets": [{"number": ticket.id, "subject": ticket.subject, "status": ticket.status.value,
                     "channel": ticket.channel.value, "council_id": ticket.council_id,
                     "created_at": plain(ticket.created_at), "resolved_at": plain(ticket.resolved_at),
                     "closed_at": plain(ticket.closed_at), "requester_name": ticket.requester_name,
                     "requester_email": ticket.requester_email, "requester_phone": ticket.requester_phone,
                     "messages": [_message(message) for message in written.get(ticket.id, [])]}
                    for ticket in tickets],
        # Messages from their address on tickets someone else asked for (a reply they sent on a thread).
        "messages_elsewhere": [_message(message) for message in messages
                               if message.ticket_id not in {ticket.id for ticket in tickets}],
        "calls": [_call(call) for call in calls],
        "catalog_requests": [{"reference": item.reference, "year": item.year, "status": item.status.value,
                              "council_id": item.council_id, "project_title": item.project_title,
                              "as_referent": item.referent_contact_id in person.contact_ids,
                              "submitted_at": plain(item.submitted_at)} for item in catalog],
        "accompaniment_requests": [{"reference": item.reference, "status": item.status.value,
                                    "action": item.action, "attendees": item.attendees,
                                    "requested_at": plain(item.requested_at)} for item in requests],
        "accompaniment_sessions": [{"id": item.id, "request": item.request_id, "kind": item.kind.value,
                                    "starts_at": plain(item.starts_at), "status": item.status.value,
                                    "attendees": item.attendees, "is_adviser": bool(user and item.adviser_id == user.id)}
                                   for item in sessions],
        "held_mail": [{"id": item.id, "kind": item.kind.value, "status": item.status.value,
                       "from_address": item.from_address, "subject": item.subject,
                       "received_at": plain(item.received_at)} for item in held],
        "mail_sent_to_them": [{"id": item.id, "created_at": plain(item.created_at), "to": item.to_addresses,
                               "cc": item.cc_addresses, "subject": item.subject, "status": item.status.value,
                               "sent_at": plain(item.sent_at), "body_text": item.body_text} for item in sent],
        "audit_about_them": [{"at": plain(event.created_at), "action": event.action, "object_type": event.object_type,
                              "object_id": event.object_id, "changes": event.changes} for event in events],
        # What they did as staff: when and to which record, not the changes (those are other people's data).
        "audit_by_them": [{"at": plain(event.created_at), "action": event.action, "object_type": event.object_type,
                           "object_id": event.object_id} for event in acted],
        "sign_in": {"last_login_at": plain(user.last_login_at) if user else None, **_other_rows(person)},
    }
    audit.record(actor, "personal_data_exported", record,
                 {"tickets": {"before": None, "after": len(tickets)}})
    return data


def _count(statement: Select[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(statement.subquery())) or 0


def summary(record: Contact | User) -> dict[str, int]:
    """How many records of each kind the desk holds on the person: what the privacy page shows."""
    person = person_of(record)
    scrub = Scrubber(emails={email: email for email in person.emails})
    user = person.user
    return {
        "contacts": len(person.contacts),
        "tickets": _count(select(Ticket.id).where(person.ticket_condition())),
        "messages": _count(select(Message.id).where(person.wrote())),
        "calls": _count(select(Call.id).where(Call.caller_number.in_(person.phones))) if person.phones else 0,
        "catalog_requests": _count(select(CatalogRequest.id).where(or_(
            CatalogRequest.referent_contact_id.in_(person.contact_ids) if person.contacts else false(),
            CatalogRequest.created_by_id == user.id if user else false()))),
        "accompaniment_sessions": _count(select(AccompanimentSession.id).where(or_(
            AccompanimentSession.adviser_id == user.id if user else false(),
            scrub.contains(AccompanimentSession.attendees)))),
        "held_mail": _count(select(HeldMail.id).where(func.lower(HeldMail.from_address).in_(person.emails)))
        if person.emails else 0,
        "mail_sent": _count(select(OutboxMessage.id).where(scrub.contains(OutboxMessage.to_addresses))),
    }


# --- erasure ---------------------------------------------------------------------------------------------

@dataclass
class Erasure:
    """What pseudonymising a person changed, by kind of record."""

    pseudonym: str
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, count: int) -> None:
        if count:
            self.counts[kind] = self.counts.get(kind, 0) + count


def _about_condition(person: Person, ticket_ids: list[int], with_tickets: bool = True) -> ColumnElement[bool]:
    conditions = [and_(AuditEvent.object_type == Contact.__tablename__, AuditEvent.object_id.in_(person.contact_ids))
                  if person.contacts else false()]
    if person.user is not None:
        conditions.append(and_(AuditEvent.object_type == User.__tablename__, AuditEvent.object_id == person.user.id))
    if with_tickets and ticket_ids:
        conditions.append(and_(AuditEvent.object_type == Ticket.__tablename__, AuditEvent.object_id.in_(ticket_ids)))
    return or_(*conditions)


def _pseudonymise_ticket(ticket: Ticket, scrub: Scrubber, token: str) -> None:
    ticket.requester_name = pseudonym_name(token) if ticket.requester_name else ""
    if ticket.requester_email and not is_pseudonym(ticket.requester_email):
        ticket.requester_email = pseudonym_email(scrub.emails.get(ticket.requester_email.lower(), token))
    ticket.requester_phone = None


def _pseudonymise_message(message: Message, scrub: Scrubber, token: str | None) -> bool:
    """Replace the person in one message (its sender too when ``token`` says the message is theirs, or its
    address is a known one); whether its searchable text changed."""
    address = message.from_address.lower()
    if token is not None or address in scrub.emails or message.from_address in scrub.phones:
        own = scrub.emails.get(address) or scrub.names.get(message.from_name) or token
        if own is not None:
            if message.from_name and not is_pseudonym(message.from_name):
                message.from_name = pseudonym_name(own)
            if message.from_address in scrub.phones or (message.from_address and "@" not in message.from_address):
                message.from_address = ""  # a call's message keeps the caller's number there
            elif message.from_address and not is_pseudonym(message.from_address):
                message.from_address = pseudonym_email(own)
    message.to_addresses, message.cc_addresses = scrub.text(message.to_addresses), scrub.text(message.cc_addresses)
    body, html = scrub.text(message.body_text), scrub.text(message.body_html)
    changed = body != message.body_text
    message.body_text, message.body_html = body, html
    return changed


def _pseudonymise_call(call: Call, scrub: Scrubber, token: str) -> None:
    call.caller_number = ""
    if call.caller_name and not is_pseudonym(call.caller_name):
        call.caller_name = pseudonym_name(scrub.names.get(call.caller_name, token))


def _scrub_audit(events: Iterable[AuditEvent], scrub: Scrubber) -> int:
    changed = 0
    for event in events:
        changes = scrub.value(event.changes)
        token = scrub.emails.get(event.actor_label.lower())
        label = pseudonym_email(token) if token else event.actor_label
        if changes != event.changes or label != event.actor_label:
            event.changes, event.actor_label = changes, label
            changed += 1
    return changed


def _scrub_texts(scrub: Scrubber, erasure: Erasure) -> None:
    """The records that name the address inside a text: the outbox, accompaniment attendees, held mail."""
    for item in db.session.scalars(select(OutboxMessage).where(or_(
            scrub.contains(OutboxMessage.to_addresses), scrub.contains(OutboxMessage.cc_addresses),
            scrub.contains(OutboxMessage.body_text), scrub.contains(OutboxMessage.body_html)))):
        item.to_addresses, item.cc_addresses = scrub.text(item.to_addresses), scrub.text(item.cc_addresses)
        item.body_text, item.body_html = scrub.text(item.body_text), scrub.text(item.body_html)
        erasure.add("mail_sent", 1)
    for request in db.session.scalars(select(AccompanimentRequest).where(scrub.contains(AccompanimentRequest.attendees))):
        request.attendees = scrub.text(request.attendees)
        erasure.add("accompaniment_requests", 1)
    for session in db.session.scalars(select(AccompanimentSession).where(scrub.contains(AccompanimentSession.attendees))):
        session.attendees = [scrub.text(address) for address in session.attendees]
        erasure.add("accompaniment_sessions", 1)
    for held in db.session.scalars(select(HeldMail).where(func.lower(HeldMail.from_address).in_(scrub.emails))):
        held.from_address = pseudonym_email(scrub.emails[held.from_address.lower()])
        erasure.add("held_mail", 1)


def _scrub_other_tables(person: Person, erasure: Erasure) -> None:
    """Sign-in record, sessions, links…: the address and the traces (addresses, browsers) emptied (tables of the
    accounts domain, taken by their columns; the account's sessions are ended by ``_erase``)."""
    for table, condition, by_email in _rows_of(person):
        values: dict[str, Any] = {name: "" for name in TRACE_COLUMNS if name in table.c}
        if by_email is not None and person.emails:
            values["email"] = pseudonym_email(person.token)
        if values:
            result = db.session.execute(update(table).where(condition).values(**values))
            erasure.add(table.name, getattr(result, "rowcount", 0) or 0)


def _erase(actor: User | None, person: Person, target: Contact | User, now: datetime) -> Erasure:
    token = person.token
    erasure = Erasure(pseudonym=pseudonym_name(token))
    scrub = Scrubber()
    for contact in person.contacts:
        scrub.add(token, contact.email, contact.name, contact.phone)
    if person.user is not None:
        scrub.add(token, person.user.email, person.user.name)

    tickets = list(db.session.scalars(select(Ticket).where(person.ticket_condition()).order_by(Ticket.id)))
    ticket_ids = [ticket.id for ticket in tickets]
    for ticket in tickets:
        if ticket.requester_name:
            scrub.names.setdefault(ticket.requester_name, token)
        if ticket.requester_phone:
            scrub.phones.add(ticket.requester_phone)
        _pseudonymise_ticket(ticket, scrub, token)
    erasure.add("tickets", len(tickets))

    written = person.wrote()
    messages = list(db.session.scalars(select(Message).where(or_(
        written, Message.ticket_id.in_(ticket_ids) if ticket_ids else false(),
        Message.from_address.in_(scrub.phones) if scrub.phones else false(),
        scrub.contains(Message.to_addresses), scrub.contains(Message.cc_addresses),
        scrub.contains(Message.body_text))).order_by(Message.id)))
    reindexed: set[int] = set()
    own = set(db.session.scalars(select(Message.id).where(written))) if messages else set()
    names = set(scrub.names)
    for message in messages:
        theirs = message.id in own or (message.ticket_id in ticket_ids and message.from_name in names
                                       and message.author_id is None) or message.from_address in scrub.phones
        if _pseudonymise_message(message, scrub, token if theirs else None):
            reindexed.add(message.ticket_id)
        erasure.add("messages", 1 if theirs else 0)
    message_ids = [message.id for message in messages if message.ticket_id in ticket_ids]
    calls = list(db.session.scalars(select(Call).where(or_(
        Call.caller_number.in_(scrub.phones) if scrub.phones else false(),
        and_(Call.message_id.in_(message_ids), Call.caller_name.in_(names)) if message_ids and names else false()))))
    for call in calls:
        _pseudonymise_call(call, scrub, token)
    erasure.add("calls", len(calls))
    for ticket_id in sorted(reindexed):
        changed = db.session.get(Ticket, ticket_id)
        if changed is not None:
            search.replace(db.session(), "ticket", changed.id, indexed_text(changed.subject, changed.messages))

    for contact in person.contacts:
        contact.name, contact.position, contact.phone = pseudonym_name(token), "", None
        contact.email = pseudonym_email(token) if contact.email else None
        contact.is_technical_referent = False  # a pseudonym manages nothing: the council names a new referent
    erasure.add("contacts", len(person.contacts))
    _scrub_texts(scrub, erasure)
    _scrub_other_tables(person, erasure)
    if person.user is not None:
        user = person.user
        # Set directly, not through auth.services.update_user: that one checks the address as a real one
        # (a pseudonym's .invalid is not) and would write the old name and address into the audit trail.
        user.name, user.email, user.is_active = pseudonym_name(token), pseudonym_email(token), False
        sessions.end_all(user, SessionEnd.DEACTIVATED, now)  # the cookie of every open session stops working
    db.session.flush()
    events = db.session.scalars(select(AuditEvent).where(or_(
        _about_condition(person, ticket_ids), scrub.contains(AuditEvent.changes),
        func.lower(AuditEvent.actor_label).in_(scrub.emails) if scrub.emails else false())))
    erasure.add("audit_events", _scrub_audit(events, scrub))
    # The trail says that it happened and what it touched, never who it was.
    audit.record(actor, "personal_data_pseudonymised", target,
                 {"pseudonym": {"before": None, "after": erasure.pseudonym},
                  **{kind: {"before": None, "after": count} for kind, count in sorted(erasure.counts.items())}})
    return erasure


def account_with_address(email: str) -> User | None:
    """The user account whose address is ``email`` (a contact who also signs in), if any."""
    return db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def pseudonymise_contact(actor: User | None, contact: Contact, now: datetime | None = None) -> Erasure:
    """Replace a contact's name, address and phone everywhere the desk keeps them by a pseudonym; audited."""
    require_admin(actor)
    if is_pseudonym(contact.name) and (contact.email is None or is_pseudonym(contact.email)) and not contact.phone:
        raise NothingToErase(_l("This contact was pseudonymised already: nothing was changed."))
    if contact.email and account_with_address(contact.email) is not None:
        raise DomainError(_l("A user account has this address too: erase the account, which erases its contacts "
                             "with it."))
    return _erase(actor, person_of(contact), contact, now or utcnow())


def pseudonymise_user(actor: User | None, user: User, now: datetime | None = None) -> Erasure:
    """Pseudonymise a user (and the contacts with their address) everywhere and deactivate the account; audited."""
    require_admin(actor)
    if actor is not None and actor.id == user.id:
        raise DomainError(_l("You cannot erase your own account: ask another administrator."))
    if is_pseudonym(user.email) and not user.is_active:
        raise NothingToErase(_l("This user was pseudonymised already: nothing was changed."))
    if user.role is Role.ADMIN and user.is_active and not db.session.scalar(select(User.id).where(
            User.role == Role.ADMIN, User.is_active, User.id != user.id).limit(1)):
        raise DomainError(_l("This is the last active administrator: name another one first."))
    return _erase(actor, person_of(user), user, now or utcnow())


# --- retention -------------------------------------------------------------------------------------------

@dataclass
class PurgeReport:
    """What a purge did, or would do in a dry run."""

    cutoff: datetime | None
    dry_run: bool
    tickets: int = 0  # pseudonymised (or that would be)
    closed: int = 0  # resolved tickets closed on the way
    chunks: int = 0
    numbers: list[int] = field(default_factory=list)  # the first ticket numbers, in a dry run

    @property
    def disabled(self) -> bool:
        return self.cutoff is None


def _finished_at() -> ColumnElement[Any]:
    return func.coalesce(Ticket.closed_at, Ticket.resolved_at, Ticket.updated_at)


def purge_condition(cutoff: datetime) -> ColumnElement[bool]:
    """Tickets resolved or closed before ``cutoff`` that still name their requester."""
    named = or_(Ticket.status == TicketStatus.RESOLVED, Ticket.requester_contact_id.is_not(None),
                Ticket.requester_phone.is_not(None),
                and_(Ticket.requester_email.is_not(None), ~Ticket.requester_email.like("pseudonym-%@invalid")),
                and_(Ticket.requester_name != "", or_(~Ticket.requester_name.like("Persona %"),
                                                      func.length(Ticket.requester_name) != 16)))
    return and_(Ticket.status.in_((TicketStatus.RESOLVED, TicketStatus.CLOSED)), _finished_at() < cutoff, named)


def pseudonymise_tickets(actor: User | None, tickets: list[Ticket], now: datetime) -> None:
    """Close the resolved ones and replace their requesters (and anyone else outside the desk who wrote on
    them) by pseudonyms: tickets, messages, calls, their mail and their audit rows; one batch, no commit."""
    ids = [ticket.id for ticket in tickets]
    scrub = Scrubber()
    tokens: dict[int, str] = {}
    for ticket in tickets:
        key = ticket.requester_email or ticket.requester_phone or f"ticket:{ticket.id}"
        tokens[ticket.id] = token = pseudonym_token(key)
        scrub.add(token, ticket.requester_email, ticket.requester_name, ticket.requester_phone)
        for message in ticket.messages:
            if message.author_id is None and "@" in message.from_address:
                scrub.add(pseudonym_token(message.from_address), message.from_address, message.from_name)
    for ticket in tickets:
        if ticket.status is TicketStatus.RESOLVED:
            change_status(actor, ticket, TicketStatus.CLOSED, now, reason="retention")
        token = tokens[ticket.id]
        _pseudonymise_ticket(ticket, scrub, token)
        ticket.requester_contact_id = None  # the contact may still work with us: the old ticket no longer says so
        body_changed = False
        for message in ticket.messages:
            outside = message.author_id is None or message.kind is MessageKind.CALL
            body_changed |= _pseudonymise_message(message, scrub, token if outside else None)
            if message.call is not None:
                _pseudonymise_call(message.call, scrub, token)
        if body_changed:
            search.replace(db.session(), "ticket", ticket.id, indexed_text(ticket.subject, ticket.messages))
        audit.record(actor, "requester_pseudonymised", ticket, {"reason": {"before": None, "after": "retention"}})
    message_ids = [message.id for ticket in tickets for message in ticket.messages]
    for item in db.session.scalars(select(OutboxMessage).where(or_(
            and_(OutboxMessage.related_type == Message.__tablename__, OutboxMessage.related_id.in_(message_ids)),
            and_(OutboxMessage.related_type == Ticket.__tablename__, OutboxMessage.related_id.in_(ids))))):
        item.to_addresses, item.cc_addresses = scrub.text(item.to_addresses), scrub.text(item.cc_addresses)
        item.body_text, item.body_html = scrub.text(item.body_text), scrub.text(item.body_html)
    for held in db.session.scalars(select(HeldMail).where(HeldMail.ticket_id.in_(ids))):
        held_token = scrub.emails.get(held.from_address.lower())
        held.from_address = pseudonym_email(held_token) if held_token else held.from_address
    db.session.flush()
    _scrub_audit(db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == Ticket.__tablename__, AuditEvent.object_id.in_(ids))), scrub)


def retention_cutoff(now: datetime, years: int) -> datetime | None:
    """The instant before which finished tickets are purged; None when ``years`` is 0 (never)."""
    if years < 0:
        raise DomainError(_l("The number of years cannot be negative."), "years")
    return now - relativedelta(years=years) if years else None


def purge(actor: User | None, now: datetime, years: int | None = None, dry_run: bool = False) -> PurgeReport:
    """Pseudonymise the requesters of tickets finished more than ``years`` (default PRIVACY_RETENTION_YEARS)
    ago, ``CHUNK`` tickets a transaction: unlike the other services it commits, once per chunk, so that a
    purge of years of tickets neither holds one long transaction nor starts again from nothing if stopped."""
    require_admin(actor)
    years = current_app.config["PRIVACY_RETENTION_YEARS"] if years is None else years
    cutoff = retention_cutoff(now, years)
    report = PurgeReport(cutoff=cutoff, dry_run=dry_run)
    if cutoff is None:
        return report
    condition = purge_condition(cutoff)
    if dry_run:
        report.tickets = db.session.scalar(select(func.count(Ticket.id)).where(condition)) or 0
        report.closed = db.session.scalar(select(func.count(Ticket.id)).where(
            condition, Ticket.status == TicketStatus.RESOLVED)) or 0
        report.chunks = -(-report.tickets // CHUNK)
        report.numbers = list(db.session.scalars(select(Ticket.id).where(condition).order_by(Ticket.id)
                                                 .limit(DRY_RUN_SHOWN)))
        return report
    actor_id = actor.id if actor is not None else None
    last = 0
    while True:
        # Keyset by number: a ticket that cannot be finished in this run is not taken again and again.
        tickets = list(db.session.scalars(
            select(Ticket).where(condition, Ticket.id > last).order_by(Ticket.id).limit(CHUNK)
            .options(selectinload(Ticket.messages).selectinload(Message.call), selectinload(Ticket.pauses))))
        if not tickets:
            break
        last = tickets[-1].id
        report.closed += sum(1 for ticket in tickets if ticket.status is TicketStatus.RESOLVED)
        chunk_actor = db.session.get(User, actor_id) if actor_id is not None else None
        with audit.collected():
            pseudonymise_tickets(chunk_actor, tickets, now)
            audit.write_collected()
        db.session.commit()
        db.session.expunge_all()  # memory stays flat however many chunks
        report.tickets += len(tickets)
        report.chunks += 1
    return report
