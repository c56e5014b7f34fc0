"""Tickets' coded values and the table of allowed status changes."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class LabelledEnum(enum.Enum):
    @property
    def label(self) -> str:
        return str(LABELS[type(self)][self])


class TicketStatus(LabelledEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"  # waiting on the council
    RESOLVED = "resolved"
    CLOSED = "closed"


class Priority(LabelledEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Category(LabelledEnum):
    CONFIGURATION = "configuration"
    USAGE = "usage"
    INCIDENT = "incident"
    OUTAGE = "outage"
    CATALOGUE = "catalogue"
    ACCOMPANIMENT = "accompaniment"
    OTHER = "other"


class Channel(LabelledEnum):
    EMAIL = "email"
    PHONE = "phone"
    WEB = "web"
    MONITOR = "monitor"


class MessageKind(LabelledEnum):
    INBOUND = "inbound"  # from the requester
    REPLY = "reply"  # public, to the requester
    NOTE = "note"  # staff only
    CALL = "call"  # a logged phone call
    ACKNOWLEDGEMENT = "acknowledgement"  # the automatic "we have your message" to a new e-mail ticket
    AUTO_REPLY = "auto_reply"  # an out-of-office or other machine answer on a ticket's thread
    BOUNCE = "bounce"  # a delivery failure report on a ticket's thread


class CallDirection(LabelledEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


LABELS: dict[type, dict] = {
    TicketStatus: {TicketStatus.NEW: _l("New"), TicketStatus.OPEN: _l("Open"),
                   TicketStatus.PENDING: _l("Waiting on council"), TicketStatus.RESOLVED: _l("Resolved"),
                   TicketStatus.CLOSED: _l("Closed")},
    Priority: {Priority.LOW: _l("Low"), Priority.NORMAL: _l("Normal"), Priority.HIGH: _l("High"),
               Priority.URGENT: _l("Urgent")},
    Category: {Category.CONFIGURATION: _l("Configuration question"), Category.USAGE: _l("Usage question"),
               Category.INCIDENT: _l("Technical incident"),
               Category.OUTAGE: _l("Outage (system down or nodes not responding)"),
               Category.CATALOGUE: _l("Catalogue request"), Category.ACCOMPANIMENT: _l("Accompaniment"),
               Category.OTHER: _l("Other")},
    Channel: {Channel.EMAIL: _l("E-mail"), Channel.PHONE: _l("Phone"), Channel.WEB: _l("Web form"),
              Channel.MONITOR: _l("Monitor")},
    MessageKind: {MessageKind.INBOUND: _l("Message from the requester"), MessageKind.REPLY: _l("Reply"),
                  MessageKind.NOTE: _l("Internal note"), MessageKind.CALL: _l("Phone call"),
                  MessageKind.ACKNOWLEDGEMENT: _l("Acknowledgement"), MessageKind.AUTO_REPLY: _l("Automatic reply"),
                  MessageKind.BOUNCE: _l("Delivery failure")},
    CallDirection: {CallDirection.INBOUND: _l("Incoming"), CallDirection.OUTBOUND: _l("Outgoing")},
}

ACTIVE_STATUSES = frozenset({TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING})
# What a council user sees of a thread: the messages exchanged with them, not notes or call logs.
COUNCIL_VISIBLE_KINDS = frozenset({MessageKind.INBOUND, MessageKind.REPLY, MessageKind.ACKNOWLEDGEMENT})

ALLOWED_TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset({TicketStatus.OPEN, TicketStatus.PENDING, TicketStatus.RESOLVED,
                                 TicketStatus.CLOSED}),
    TicketStatus.OPEN: frozenset({TicketStatus.PENDING, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.PENDING: frozenset({TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),  # open again = reopen
    TicketStatus.CLOSED: frozenset(),
}


def can_change(current: TicketStatus, new: TicketStatus) -> bool:
    return new in ALLOWED_TRANSITIONS[current]
