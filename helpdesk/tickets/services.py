"""The rules of tickets: opening, messages, status, assignment, merging. Flush, audit, never commit."""
from __future__ import annotations

import logging
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from helpdesk.auth.models import Role, User
from helpdesk.core import audit, search
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed, StaleRecord
from helpdesk.core.storage import BlobStore, StorageError
from helpdesk.core.validation import normalise_email, normalise_phone
from helpdesk.councils.models import Contact, Council
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.tickets import clocks, mailing, replies
from helpdesk.tickets.models import (ATTACHMENT_MAX_BYTES, BODY_MAX_LENGTH, FILENAME_MAX_LENGTH,
                                     MESSAGE_ATTACHMENTS_MAX_BYTES, SUBJECT_MAX_LENGTH, Attachment, Call, Message,
                                     Ticket, TicketRead)
from helpdesk.tickets.states import (ALLOWED_TRANSITIONS, CallDirection, Category, Channel, MessageKind, Priority,
                                     TicketStatus, can_change)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Upload:
    """A file as it arrived (form upload, e-mail part)."""

    filename: str
    data: bytes
    content_type: str = ""


_signals = Namespace()
#: Sent after a ticket's status changed (sender: the ticket; before, after, now, actor; message: the reply that
#: changed it, if one did): the catalogue listens for its provisioning tickets being resolved, satisfaction
#: for resolutions to ask the requester about.
ticket_status_changed = _signals.signal("ticket-status-changed")
#: Sent when a ticket gets another assignee (sender: the ticket; before: the former assignee's id, actor, now):
#: notifications listen.
ticket_assigned = _signals.signal("ticket-assigned")
#: Sent once a message added to a ticket has its id (sender: the ticket; message, actor (None for mail), now):
#: notifications listen.
message_added = _signals.signal("message-added")
#: Sent once a new ticket has its number (sender: the ticket; actor (None for mail and the monitor), now):
#: webhooks listen.
ticket_created = _signals.signal("ticket-created")
#: Sent when fields of a ticket other than its status changed (sender: the ticket; changes (the audit trail's
#: before and after of each), actor, now): webhooks listen.
ticket_updated = _signals.signal("ticket-updated")


@dataclass
class TicketData:
    """What is needed to open a ticket; the first message's text goes in ``body``."""

    subject: str
    body: str
    channel: Channel
    category: Category = Category.OTHER
    priority: Priority = Priority.NORMAL
    council_id: int | None = None
    instance_id: int | None = None
    requester_contact_id: int | None = None
    requester_name: str = ""
    requester_email: str = ""
    requester_phone: str = ""
    attachments: list[Upload] = field(default_factory=list)
    # Further columns of the first message, as mail brings them (Message-ID, recipients, HTML).
    message_fields: dict[str, str] = field(default_factory=dict)


@dataclass
class CallData:
    direction: CallDirection
    caller_number: str
    caller_name: str
    started_at: datetime
    duration_seconds: int
    summary: str
    category: Category = Category.OTHER


def blob_store() -> BlobStore:
    return BlobStore(Path(current_app.instance_path) / "attachments")


def require_staff(actor: User) -> None:
    if not actor.is_staff:
        raise NotAllowed(_l("Only the support team can do this."))


def _clean_subject(subject: str) -> str:
    subject = " ".join(subject.split())
    if not subject:
        raise DomainError(_l("The subject is required."), "subject")
    if len(subject) > SUBJECT_MAX_LENGTH:
        raise DomainError(_l("The subject must have at most %(count)d characters.", count=SUBJECT_MAX_LENGTH),
                          "subject")
    return subject


def _clean_body(body: str, field_name: str = "body", required: bool = True) -> str:
    body = body.replace("\r\n", "\n").strip()
    if required and not body:
        raise DomainError(_l("Write a message."), field_name)
    if required and len(body) > BODY_MAX_LENGTH:  # a form's limit; mail is limited by its whole size
        raise DomainError(_l("The message must have at most %(count)d characters.", count=BODY_MAX_LENGTH),
                          field_name)
    return body


def _check_uploads(uploads: list[Upload], field_name: str = "attachments") -> None:
    total = 0
    for upload in uploads:
        if len(upload.data) > ATTACHMENT_MAX_BYTES:
            raise DomainError(_l("%(name)s is larger than %(size)d MB, the limit for one file.",
                                 name=upload.filename, size=ATTACHMENT_MAX_BYTES // (1024 * 1024)), field_name)
        total += len(upload.data)
    if total > MESSAGE_ATTACHMENTS_MAX_BYTES:
        raise DomainError(_l("The files add up to more than %(size)d MB, the limit for one message.",
                             size=MESSAGE_ATTACHMENTS_MAX_BYTES // (1024 * 1024)), field_name)


def safe_filename(name: str) -> str:
    """A file name fit to show and to download: no folders, no control characters, not too long."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(char for char in name if char.isprintable()).strip().lstrip(".") or "file"
    if len(name) > FILENAME_MAX_LENGTH:
        stem, dot, extension = name.rpartition(".")
        name = (stem[:FILENAME_MAX_LENGTH - len(extension) - 1] + dot + extension) if dot and len(extension) < 10 \
            else name[:FILENAME_MAX_LENGTH]
    return name


def store_attachments(message: Message, uploads: list[Upload]) -> None:
    store = blob_store()
    for upload in uploads:
        filename = safe_filename(upload.filename)
        content_type = (mimetypes.guess_type(filename)[0] or upload.content_type or
                        "application/octet-stream").lower()[:127]
        try:
            sha256 = store.put(upload.data)
        except StorageError as error:  # shown next to the upload field; the caller rolls back
            log.error("could not store %s: %s", filename, error.detail)
            raise StorageError(error.reason, error.detail, "attachments") from error
        message.attachments.append(Attachment(filename=filename, content_type=content_type, size=len(upload.data),
                                              sha256=sha256))


def _resolve_links(data: TicketData, guess_instance: bool = True
                   ) -> tuple[Council | None, PlatformInstance | None, Contact | None]:
    council = db.session.get(Council, data.council_id) if data.council_id else None
    if data.council_id and council is None:
        raise DomainError(_l("Unknown council."), "council_id")
    instance = db.session.get(PlatformInstance, data.instance_id) if data.instance_id else None
    if data.instance_id and instance is None:
        raise DomainError(_l("Unknown instance."), "instance_id")
    contact = db.session.get(Contact, data.requester_contact_id) if data.requester_contact_id else None
    if data.requester_contact_id and contact is None:
        raise DomainError(_l("Unknown contact."), "requester_contact_id")
    if council is None:
        council = (instance.council if instance else None) or (contact.council if contact else None)
    if instance is not None and instance.council_id != council.id:
        raise DomainError(_l("The instance %(url)s is not %(council)s's.", url=instance.host, council=council.name),
                          "instance_id")
    if contact is not None and contact.council_id != council.id:
        raise DomainError(_l("%(name)s is not a contact of %(council)s.", name=contact.name, council=council.name),
                          "requester_contact_id")
    if instance is None and council is not None and guess_instance:
        live = [item for item in council.instances if item.status.value != "retired"]
        instance = live[0] if len(live) == 1 else None  # the council's only instance, when there is no doubt
    return council, instance, contact


def open_ticket(actor: User | None, data: TicketData, now: datetime, *,
                first_kind: MessageKind = MessageKind.INBOUND, from_mail: bool = False) -> Ticket:
    """Open a ticket with its first message; a council user opens it for their own council only.

    Mail (``from_mail``) may come with no text, with files over the upload limits (its whole size is
    limited when it arrives) and from addresses a form would refuse: it is taken as it is."""
    ticket = new_ticket(actor, data, now, first_kind=first_kind, from_mail=from_mail)
    db.session.add(ticket)  # with its first message and that message's files
    db.session.flush()
    opened(actor, ticket)
    return ticket


def opened(actor: User | None, ticket: Ticket) -> None:
    """What opening a ticket records once the ticket has its number: the audit events, the search index.
    (Mail intake adds a chunk of new tickets, flushes once, then calls this for each.)"""
    audit.record(actor, "created", ticket, created_changes(ticket))
    if clock := audit.diff({}, audit.snapshot(ticket, clocks.CLOCKED)):
        audit.record(actor, "clock", ticket, clock)
    reindex(ticket)
    ticket_created.send(ticket, actor=actor, now=ticket.created_at)


def created_changes(ticket: Ticket) -> dict:
    return audit.diff({}, audit.snapshot(ticket, Ticket.AUDITED))


def new_ticket(actor: User | None, data: TicketData, now: datetime, *,
               first_kind: MessageKind = MessageKind.INBOUND, from_mail: bool = False) -> Ticket:
    """The ticket ``open_ticket`` opens, with its first message and its SLA clock, not yet in the session."""
    subject = _clean_subject(data.subject[:SUBJECT_MAX_LENGTH] if from_mail else data.subject)
    body = _clean_body(data.body, required=not from_mail)
    if not from_mail:
        _check_uploads(data.attachments)
    if actor is not None and not actor.is_staff:
        if data.council_id not in (None, actor.council_id):
            raise NotAllowed(_l("You can only open tickets for your own council."))
        data.council_id, data.channel = actor.council_id, Channel.WEB
        data.requester_name, data.requester_email = actor.name, actor.email
        data.requester_contact_id = db.session.scalar(select(Contact.id).where(
            Contact.council_id == actor.council_id, Contact.email == actor.email))
    council, instance, contact = _resolve_links(data)
    if from_mail:
        email = data.requester_email.strip().lower()[:254] or None
    else:
        email = normalise_email(data.requester_email, "requester_email") if data.requester_email.strip() else None
    phone = normalise_phone(data.requester_phone, "requester_phone") if data.requester_phone.strip() else None
    if contact is not None:
        email, phone = email or contact.email, phone or contact.phone
    ticket = Ticket(subject=subject, channel=data.channel, category=data.category, priority=data.priority,
                    status=TicketStatus.NEW, council=council, instance=instance, requester_contact=contact,
                    requester_name=(data.requester_name.strip() or (contact.name if contact else ""))[:200],
                    requester_email=email, requester_phone=phone, created_at=now, updated_at=now, activity_at=now,
                    pauses=[])  # known empty: the SLA clock need not ask the database
    inbound = first_kind is MessageKind.INBOUND
    message = Message(ticket=ticket, kind=first_kind, body_text=body, created_at=now,
                      author_id=actor.id if actor is not None else None, **{
                          "from_name": ticket.requester_name if inbound else "",
                          "from_address": (email or "") if inbound else "", "subject": subject,
                          **data.message_fields})
    store_attachments(message, data.attachments)
    clocks.recompute(ticket, now, actor)
    return ticket


def add_message(actor: User, ticket: Ticket, kind: MessageKind, body: str, now: datetime,
                attachments: list[Upload] | None = None, *, new_status: TicketStatus | None = None) -> Message:
    """Add a reply, an internal note or (from a council user) a message from the requester."""
    attachments = attachments or []
    if kind in (MessageKind.REPLY, MessageKind.NOTE):
        require_staff(actor)
    elif kind is MessageKind.INBOUND:
        if actor.is_staff or actor.council_id != ticket.council_id:
            raise NotAllowed(_l("Only the council's own users write as the requester."))
    else:
        raise DomainError(_l("Calls are logged with the call form."))
    if ticket.status is TicketStatus.CLOSED:
        raise DomainError(_l("Ticket %(reference)s is closed: open a new ticket instead.",
                             reference=ticket.reference), "body")
    body = _clean_body(body)
    _check_uploads(attachments)
    body_html = ""
    if kind is MessageKind.REPLY:  # Markdown, signed: the thread and the mail show it formatted
        body = replies.with_signature(body, actor.signature)
        body_html = replies.to_html(body)
    message = Message(ticket=ticket, kind=kind, body_text=body, body_html=body_html, created_at=now,
                      author_id=actor.id, from_name=actor.name, from_address=actor.email,
                      to_addresses=(ticket.requester_email or "") if kind is MessageKind.REPLY else "",
                      subject=ticket.subject if kind is not MessageKind.NOTE else "")
    db.session.add(message)
    store_attachments(message, attachments)
    ticket.activity_at = now
    if kind is not MessageKind.NOTE:
        ticket.updated_at = now  # councils see when their ticket last moved; internal notes are not news to them
    if kind is MessageKind.REPLY:
        if ticket.first_response_at is None:
            ticket.first_response_at = now
            clocks.recompute(ticket, now, actor, choose=False)  # the first-response clock stops
        target = new_status or (TicketStatus.OPEN if ticket.status is TicketStatus.NEW else None)
        if target is not None and target is not ticket.status:
            change_status(actor, ticket, target, now, message=message)
    elif kind is MessageKind.INBOUND:
        requester_wrote(ticket, now)
    db.session.flush()
    if kind is MessageKind.REPLY:
        mailing.send_reply(message)
    audit.record(actor, f"message_{kind.value}", ticket, {"message_id": {"before": None, "after": message.id}})
    reindex(ticket)
    message_added.send(ticket, message=message, actor=actor, now=now)
    return message


def requester_wrote(ticket: Ticket, now: datetime, actor: User | None = None, *,
                    reason: str = "requester_replied") -> None:
    """The requester's side spoke (a message, a call): a ticket waiting on them or resolved opens again."""
    if ticket.status in (TicketStatus.PENDING, TicketStatus.RESOLVED):
        change_status(actor, ticket, TicketStatus.OPEN, now, reason=reason)


@dataclass
class MailMessage:
    """A message as mail brings it, for ``receive_mail``: its text, sanitised HTML, files and header columns."""

    kind: MessageKind  # inbound, auto_reply or bounce
    body_text: str
    body_html: str = ""
    attachments: list[Upload] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # message_id, from_*, to/cc addresses, subject
    is_message_id_reused: bool = False


def receive_mail(ticket: Ticket, mail: MailMessage, now: datetime) -> Message:
    """Add a message that arrived by mail to ``ticket``: the requester's (which reopens a waiting or
    resolved ticket) or a machine's (an auto-reply, a bounce: kept on the ticket, which stays as it is).
    Not flushed: call ``received`` once the message has its id (mail intake flushes a chunk at once)."""
    message = Message(ticket=ticket, kind=mail.kind, body_text=mail.body_text, body_html=mail.body_html,
                      created_at=now, is_message_id_reused=mail.is_message_id_reused, **mail.fields)
    db.session.add(message)
    store_attachments(message, mail.attachments)
    ticket.activity_at = now
    if mail.kind is MessageKind.INBOUND:
        ticket.updated_at = now
        requester_wrote(ticket, now)
    return message


def received(ticket: Ticket, message: Message) -> None:
    """What a message that arrived by mail records once it has its id: the audit event, the search index."""
    if message.kind is MessageKind.INBOUND:
        audit.record(None, "message_inbound", ticket, {"message_id": {"before": None, "after": message.id}})
    reindex(ticket)
    message_added.send(ticket, message=message, actor=None, now=message.created_at)


def mark_bounced(ticket: Ticket, message_ids: list[str], now: datetime) -> list[Message]:
    """The desk's replies and acknowledgements on ``ticket`` that a delivery failure names, marked bounced."""
    bounced = db.session.scalars(select(Message).where(
        Message.ticket_id == ticket.id, Message.message_id.in_(message_ids),
        Message.kind.in_([MessageKind.REPLY, MessageKind.ACKNOWLEDGEMENT]))).all()
    for reply in bounced:
        reply.bounced_at = now
        audit.record(None, "reply_bounced", ticket, {"message_id": {"before": None, "after": reply.id}})
    return list(bounced)


def system_note(ticket: Ticket, body: str, now: datetime, author_name: str = "Monitor") -> Message:
    """An internal note written by the desk itself (the monitor, a job): no user, never e-mailed."""
    message = Message(ticket=ticket, kind=MessageKind.NOTE, body_text=body[:BODY_MAX_LENGTH], created_at=now,
                      from_name=author_name)
    db.session.add(message)
    ticket.activity_at = now
    db.session.flush()
    audit.record(None, "message_note", ticket, {"message_id": {"before": None, "after": message.id}})
    reindex(ticket)
    return message


def log_call(actor: User, data: CallData, now: datetime, *, ticket: Ticket | None = None,
             new_ticket: TicketData | None = None) -> Call:
    """Log a phone call on ``ticket``, or open ``new_ticket`` (channel phone) with the call as its first message."""
    require_staff(actor)
    summary = _clean_body(data.summary, "summary")
    number = normalise_phone(data.caller_number, "caller_number") if data.caller_number.strip() else ""
    if data.duration_seconds < 0 or data.duration_seconds > 24 * 3600:
        raise DomainError(_l("The duration must be between 0 and 24 hours."), "duration")
    if data.started_at > now:
        raise DomainError(_l("The call cannot start in the future."), "started_at")
    if (ticket is None) == (new_ticket is None):
        raise DomainError(_l("Choose an existing ticket or open a new one."), "ticket_number")
    if ticket is None:
        new_ticket.body, new_ticket.channel, new_ticket.category = summary, Channel.PHONE, data.category
        new_ticket.requester_phone = new_ticket.requester_phone or number
        new_ticket.requester_name = new_ticket.requester_name or data.caller_name
        ticket = open_ticket(actor, new_ticket, now, first_kind=MessageKind.CALL)
        message = ticket.messages[0]
        message.from_name, message.from_address = data.caller_name.strip()[:200], number
    else:
        if ticket.status is TicketStatus.CLOSED:
            raise DomainError(_l("Ticket %(reference)s is closed: open a new ticket instead.",
                                 reference=ticket.reference), "ticket_number")
        message = Message(ticket=ticket, kind=MessageKind.CALL, body_text=summary, created_at=now,
                          author_id=actor.id, from_name=data.caller_name.strip()[:200], from_address=number)
        db.session.add(message)
        ticket.activity_at = now
        if data.direction is CallDirection.INBOUND:
            requester_wrote(ticket, now, actor, reason="requester_called")
    if data.direction is CallDirection.OUTBOUND:
        # Calling the council back is a response, made when the call started.
        if ticket.first_response_at is None or data.started_at < ticket.first_response_at:
            ticket.first_response_at = data.started_at
            clocks.recompute(ticket, now, actor, choose=False)
        if ticket.status is TicketStatus.NEW:
            change_status(actor, ticket, TicketStatus.OPEN, now)
    call = Call(message=message, direction=data.direction, caller_number=number,
                caller_name=data.caller_name.strip()[:200], started_at=data.started_at,
                duration_seconds=data.duration_seconds, summary=summary, logged_by_id=actor.id)
    db.session.add(call)
    db.session.flush()
    audit.record(actor, "message_call", ticket, {"message_id": {"before": None, "after": message.id}})
    reindex(ticket)
    return call


def change_status(actor: User | None, ticket: Ticket, status: TicketStatus, now: datetime, *,
                  reason: str = "", message: Message | None = None) -> None:
    """Move a ticket to ``status`` if the state table allows it; stamp resolved/closed times."""
    if actor is not None and not actor.is_staff:
        allowed = status is TicketStatus.CLOSED and is_requester(actor, ticket)
        if not allowed:
            raise NotAllowed(_l("Only the support team changes a ticket's status."))
    if not can_change(ticket.status, status):
        possible = ", ".join(item.label for item in TicketStatus if item in ALLOWED_TRANSITIONS[ticket.status])
        raise InvalidTransition(_l("A ticket that is %(current)s cannot become %(new)s (possible: %(possible)s).",
                                   current=ticket.status.label.lower(), new=status.label.lower(),
                                   possible=possible or "—"), "status")
    before = ticket.status
    ticket.status = status
    ticket.updated_at = now
    if status is TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif status is TicketStatus.CLOSED:
        ticket.closed_at = now
    elif before in (TicketStatus.RESOLVED,) and status is TicketStatus.OPEN:
        ticket.resolved_at = None
    changes = {"status": {"before": before.value, "after": status.value}}
    if reason:
        changes["reason"] = {"before": None, "after": reason}
    audit.record(actor, "status_changed", ticket, changes)
    clocks.status_changed(ticket, before, status, now, actor)
    ticket_status_changed.send(ticket, before=before, after=status, now=now, actor=actor, message=message)


def is_requester(user: User, ticket: Ticket) -> bool:
    return (not user.is_staff and user.council_id == ticket.council_id
            and (ticket.requester_email or "").lower() == user.email.lower())


@dataclass
class TicketChanges:
    """The editable fields of a ticket as a form gives them."""

    subject: str
    status: TicketStatus
    priority: Priority
    category: Category
    council_id: int | None
    instance_id: int | None
    assignee_id: int | None
    requester_name: str = ""
    requester_email: str = ""
    requester_phone: str = ""


def check_version(ticket: Ticket, expected_version: int | None) -> None:
    """Refuse to save over changes someone else made after the form was loaded."""
    if expected_version is not None and expected_version != ticket.version:
        last = db.session.scalar(select(audit.AuditEvent).where(
            audit.AuditEvent.object_type == Ticket.__tablename__, audit.AuditEvent.object_id == ticket.id)
            .order_by(audit.AuditEvent.id.desc()).limit(1))
        who = (last.actor.name if last and last.actor else last.actor_label if last else "")
        raise StaleRecord(_l("%(who)s changed ticket %(reference)s meanwhile. Nothing was saved: look at the "
                             "changes below and try again.", who=who or _l("Someone"), reference=ticket.reference))


def update_ticket(actor: User, ticket: Ticket, changes: TicketChanges, now: datetime,
                  expected_version: int | None = None) -> bool:
    """Change any field of a ticket; True when something changed."""
    require_staff(actor)
    check_version(ticket, expected_version)
    subject = _clean_subject(changes.subject)
    if changes.council_id != ticket.council_id and changes.instance_id == ticket.instance_id:
        changes.instance_id = None  # the old council's platform does not follow the ticket to another council
    council, instance, _ = _resolve_links(TicketData(subject=subject, body="-", channel=ticket.channel,
                                                     council_id=changes.council_id, instance_id=changes.instance_id),
                                          guess_instance=False)
    assignee = _check_assignee(changes.assignee_id)
    before = audit.snapshot(ticket, Ticket.AUDITED)
    ticket.subject, ticket.priority, ticket.category = subject, changes.priority, changes.category
    ticket.council, ticket.instance = council, instance
    if ticket.requester_contact is not None and ticket.requester_contact.council_id != (council.id if council else None):
        ticket.requester_contact = None
    ticket.requester_name = " ".join(changes.requester_name.split())[:200]
    ticket.requester_email = (normalise_email(changes.requester_email, "requester_email")
                              if changes.requester_email.strip() else None)
    ticket.requester_phone = (normalise_phone(changes.requester_phone, "requester_phone")
                              if changes.requester_phone.strip() else None)
    ticket.assignee = assignee
    db.session.flush()  # the *_id columns follow the relationships only once flushed
    after = audit.snapshot(ticket, Ticket.AUDITED)
    changed = audit.diff(before, after)
    if changed:
        ticket.updated_at = now
        audit.record(actor, "updated", ticket, changed)
        ticket_updated.send(ticket, changes=changed, actor=actor, now=now)
        if "assignee_id" in changed:
            ticket_assigned.send(ticket, before=changed["assignee_id"]["before"], actor=actor, now=now)
        if {"category", "priority"} & set(changed):
            clocks.recompute(ticket, now, actor)  # another policy may apply
    if changes.status is not ticket.status:
        change_status(actor, ticket, changes.status, now)
        changed["status"] = True
    if "subject" in changed:
        reindex(ticket)
    db.session.flush()
    return bool(changed)


def _check_assignee(assignee_id: int | None) -> User | None:
    if assignee_id is None:
        return None
    assignee = db.session.get(User, assignee_id)
    if assignee is None or not assignee.is_staff or not assignee.is_active:
        raise DomainError(_l("Tickets can only be assigned to active staff."), "assignee_id")
    return assignee


def assign(actor: User, ticket: Ticket, assignee_id: int | None, now: datetime) -> None:
    """Assign a ticket to someone on the team (or to nobody)."""
    require_staff(actor)
    assignee = _check_assignee(assignee_id)
    if ticket.assignee_id == assignee_id:
        return
    before = ticket.assignee_id
    ticket.assignee = assignee
    ticket.updated_at = now
    audit.record(actor, "updated", ticket, {"assignee_id": {"before": before, "after": assignee_id}})
    ticket_updated.send(ticket, changes={"assignee_id": {"before": before, "after": assignee_id}}, actor=actor,
                        now=now)
    ticket_assigned.send(ticket, before=before, actor=actor, now=now)
    if ticket.status is TicketStatus.NEW and assignee is not None:
        change_status(actor, ticket, TicketStatus.OPEN, now)


def assign_to_me(actor: User, ticket_id: int, now: datetime) -> Ticket:
    """Take an unassigned ticket. Of two agents clicking at once exactly one gets it: the update only
    applies while nobody is assigned, and the database decides who came first."""
    require_staff(actor)
    result = db.session.execute(
        update(Ticket).where(Ticket.id == ticket_id, Ticket.assignee_id.is_(None),
                             Ticket.status != TicketStatus.CLOSED)
        .values(assignee_id=actor.id, updated_at=now, version=Ticket.version + 1)
        .execution_options(synchronize_session=False))
    ticket = db.session.get(Ticket, ticket_id, populate_existing=True)
    if ticket is None:
        raise DomainError(_l("There is no ticket %(reference)s.", reference=f"#{ticket_id}"))
    if result.rowcount == 0:
        if ticket.assignee_id == actor.id:
            return ticket
        if ticket.status is TicketStatus.CLOSED:
            raise DomainError(_l("Ticket %(reference)s is closed.", reference=ticket.reference))
        raise DomainError(_l("Ticket %(reference)s is already assigned to %(name)s.", reference=ticket.reference,
                             name=ticket.assignee.name if ticket.assignee else "—"), "assignee_id")
    audit.record(actor, "updated", ticket, {"assignee_id": {"before": None, "after": actor.id}})
    ticket_updated.send(ticket, changes={"assignee_id": {"before": None, "after": actor.id}}, actor=actor, now=now)
    ticket_assigned.send(ticket, before=None, actor=actor, now=now)
    if ticket.status is TicketStatus.NEW:
        change_status(actor, ticket, TicketStatus.OPEN, now)
    return ticket


def check_merge(actor: User, duplicate: Ticket, target: Ticket) -> None:
    """Refuse a merge the rules forbid (asked before the confirmation page, and again on merging)."""
    require_staff(actor)
    if duplicate.id == target.id:
        raise DomainError(_l("A ticket cannot be merged into itself."), "target")
    if target.status is TicketStatus.CLOSED:
        raise DomainError(_l("Ticket %(reference)s is closed: merge into an open ticket.",
                             reference=target.reference), "target")
    if duplicate.status is TicketStatus.CLOSED:
        raise DomainError(_l("Ticket %(reference)s is already closed.", reference=duplicate.reference), "target")
    if duplicate.council_id and target.council_id and duplicate.council_id != target.council_id:
        raise DomainError(_l("Ticket %(reference)s belongs to another council: its messages cannot move there.",
                             reference=target.reference), "target")


def merge_tickets(actor: User, duplicate: Ticket, target: Ticket, now: datetime) -> None:
    """Move the duplicate's messages onto ``target`` and close the duplicate with a pointer to it."""
    check_merge(actor, duplicate, target)
    moved = list(duplicate.messages)
    for message in moved:
        message.ticket = target
    target.activity_at = target.updated_at = now
    if duplicate.first_response_at and (target.first_response_at is None
                                        or duplicate.first_response_at < target.first_response_at):
        target.first_response_at = duplicate.first_response_at
        clocks.recompute(target, now, actor, choose=False)
    duplicate.merged_into = target
    before = duplicate.status
    duplicate.status, duplicate.closed_at, duplicate.updated_at = TicketStatus.CLOSED, now, now
    clocks.recompute(duplicate, now, actor, choose=False)
    db.session.flush()
    audit.record(actor, "merged", duplicate, {"status": {"before": before.value, "after": "closed"},
                                              "merged_into_id": {"before": None, "after": target.id}})
    audit.record(actor, "merged_from", target, {"merged_from_id": {"before": None, "after": duplicate.id},
                                                "messages": {"before": None, "after": len(moved)}})
    reindex(target)
    reindex(duplicate)


def delete_message(actor: User, message: Message, now: datetime) -> None:
    """Hide a message from the thread; it stays in the database and the audit trail says who and when."""
    require_staff(actor)
    if message.is_deleted:
        return
    message.deleted_at, message.deleted_by_id = now, actor.id
    audit.record(actor, "message_deleted", message.ticket, {"message_id": {"before": message.id, "after": None}})
    reindex(message.ticket)


def mark_read(user: User, ticket: Ticket, now: datetime) -> None:
    """Remember that ``user`` has seen the ticket as it is now (two tabs at once record it once)."""
    updated = db.session.execute(update(TicketRead).where(TicketRead.user_id == user.id,
                                                          TicketRead.ticket_id == ticket.id)
                                 .values(read_at=now).execution_options(synchronize_session=False))
    if updated.rowcount == 0:
        try:
            with db.session.begin_nested():
                db.session.add(TicketRead(user_id=user.id, ticket_id=ticket.id, read_at=now))
        except IntegrityError:
            pass  # the other tab was first; its time is as good as ours


def reindex(ticket: Ticket) -> None:
    """Put the ticket's subject and the text of its live messages in the search index."""
    search.replace(db.session, "ticket", ticket.id, indexed_text(ticket.subject, ticket.messages))


def indexed_text(subject: str, messages) -> str:
    """What a ticket is found by: its subject and its messages, but not the acknowledgement (the same
    words on every e-mail ticket) nor the deleted ones."""
    return "\n".join([subject] + [message.body_text for message in messages
                                  if message.deleted_at is None and message.kind is not MessageKind.ACKNOWLEDGEMENT])


def staff_choices() -> list[User]:
    return list(db.session.scalars(select(User).where(User.is_active, User.role != Role.COUNCIL_USER)
                                   .order_by(User.name)))
