"""Splitting a message off into a ticket of its own: a council that asks something new in an old thread.

Only what the requester's side said can be split (their messages and calls), never a ticket's first message
(the ticket would be left without its question), nor a reply, an internal note or a machine's mail: those
answer or describe the ticket they are on. The new ticket is opened through the same path as any other (its
SLA clocks start now, under the policy its category and priority choose); the message moves with its files.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.extensions import db
from helpdesk.tickets import services
from helpdesk.tickets.models import SUBJECT_MAX_LENGTH, Message, Ticket
from helpdesk.tickets.states import Channel, MessageKind, TicketStatus

SPLITTABLE_KINDS = frozenset({MessageKind.INBOUND, MessageKind.CALL})


def default_subject(ticket: Ticket) -> str:
    """What the new ticket is called unless the agent says otherwise: "Logotip (split from #12)"."""
    suffix = str(_l(" (split from %(reference)s)", reference=ticket.reference))
    return ticket.subject[:SUBJECT_MAX_LENGTH - len(suffix)] + suffix


def refusal(ticket: Ticket, message: Message) -> DomainError | None:
    """Why ``message`` cannot be split off ``ticket`` (None when it can)."""
    if message.ticket_id != ticket.id:
        return DomainError(_l("This message is not on ticket %(reference)s.", reference=ticket.reference))
    if ticket.status is TicketStatus.CLOSED:
        return DomainError(_l("Ticket %(reference)s is closed: its messages stay where they are.",
                              reference=ticket.reference))
    if message.is_deleted:
        return DomainError(_l("A hidden message cannot be split off."))
    if message.kind not in SPLITTABLE_KINDS:
        return DomainError(_l("Only the requester's messages and calls can be split off into a new ticket."))
    if ticket.messages and ticket.messages[0].id == message.id:
        return DomainError(_l("This is the message that opened the ticket: it cannot be split off."))
    return None


def can_split(ticket: Ticket, message: Message) -> bool:
    """Whether the ticket page offers to split this message off."""
    return refusal(ticket, message) is None


def split_message(actor: User, ticket: Ticket, message: Message, subject: str, now: datetime) -> Ticket:
    """Open a new ticket (same council, requester and platform) whose first message is ``message``, moved
    from ``ticket`` with its attachments; each ticket's history names the other."""
    services.require_staff(actor)
    problem = refusal(ticket, message)
    if problem is not None:
        raise problem
    subject = " ".join((subject or "").split())
    if len(subject) > SUBJECT_MAX_LENGTH:  # mail-style opening (below) would cut it: say so instead
        raise DomainError(_l("The subject must have at most %(count)d characters.", count=SUBJECT_MAX_LENGTH),
                          "subject")
    data = services.TicketData(
        subject=subject, body=message.body_text, channel=Channel.PHONE if message.kind is MessageKind.CALL
        else ticket.channel, category=ticket.category, priority=ticket.priority, council_id=ticket.council_id,
        instance_id=ticket.instance_id, requester_contact_id=ticket.requester_contact_id,
        requester_name=ticket.requester_name, requester_email=ticket.requester_email or "",
        requester_phone=ticket.requester_phone or "")
    # As mail is taken: the requester's details were accepted when they arrived, and a message that came with
    # no text or with large files stays as it is.
    new = services.new_ticket(actor, data, now, first_kind=message.kind, from_mail=True)
    new.messages.remove(new.messages[0])  # its first message is the one moved, not a copy of it
    message.ticket = new
    ticket.updated_at = now
    db.session.add(new)
    db.session.flush()
    services.opened(actor, new)
    audit.record(actor, "split", ticket, {"message_id": {"before": message.id, "after": None},
                                          "split_into_id": {"before": None, "after": new.id}})
    audit.record(actor, "split_from", new, {"split_from_id": {"before": None, "after": ticket.id},
                                            "message_id": {"before": None, "after": message.id}})
    services.reindex(ticket)
    return new
