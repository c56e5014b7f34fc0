"""Many incoming messages written at once: the rows the ticket services would write, in a few statements.

Mail ingestion (inbound.py) builds the common cases — a new request, a reply on a ticket in progress —
with the services' own builders (``new_ticket``, the SLA clock, the acknowledgement) as objects outside
the session and hands them to a ``Batch``. Writing the batch inserts every table's rows in one statement
(the ORM's unit of work would spend most of a message's time on its bookkeeping), with what the services
add besides: the acknowledgement and its outbox row, the audit events, the search index, the ledger.
The caller commits: one batch, one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, inspect, or_, select, update
from sqlalchemy.orm import Mapper, RelationshipDirection

from helpdesk.core import audit, search
from helpdesk.core.outbox import OutboxMessage, outgoing
from helpdesk.extensions import db
from helpdesk.tickets import clocks, mailing
from helpdesk.tickets.models import Attachment, Message, Ticket
from helpdesk.mail.models import ReceivedMail
from helpdesk.tickets.services import created_changes, indexed_text


@dataclass
class Entry:
    """One message of the batch: a new ticket (with its first message) or a follow-up on ``ticket``."""

    ticket: Ticket
    message: Message
    is_new: bool
    ledger: dict[str, Any]  # the received_mail columns but the outcome
    acknowledgement: Message | None = None
    sending: dict[str, Any] = field(default_factory=dict)  # queue_mail's arguments for the acknowledgement


@dataclass
class Batch:
    mailbox: str
    now: datetime
    entries: list[Entry] = field(default_factory=list)
    # Message-IDs of this batch's messages → their ticket, so that a reply in the same batch threads.
    threads: dict[str, Ticket] = field(default_factory=dict)

    def open(self, ticket: Ticket, ledger: dict[str, Any]) -> None:
        message = ticket.messages[0]
        self.entries.append(Entry(ticket, message, True, ledger))
        self.threads[message.message_id] = ticket

    def follow(self, ticket: Ticket, message: Message, ledger: dict[str, Any]) -> None:
        """``message`` (not in the session, no ticket set) answers ``ticket``, which is in progress (a ticket
        opened in this batch already shows this batch's time)."""
        self.entries.append(Entry(ticket, message, False, ledger))
        self.threads[message.message_id] = ticket

    def write(self) -> list[tuple[str, int]]:
        """Insert everything; (outcome, ticket number) per entry, in order."""
        opened = [entry for entry in self.entries if entry.is_new]
        tickets = [entry.ticket for entry in opened]
        for ticket, new_id in zip(tickets, _insert(Ticket, tickets), strict=True):
            ticket.id = new_id
        self._acknowledge(opened)
        messages = []
        for entry in self.entries:
            entry.message.ticket_id = entry.ticket.id
            messages += [entry.message] + ([entry.acknowledgement] if entry.acknowledgement else [])
        for message, new_id in zip(messages, _insert(Message, messages), strict=True):
            message.id = new_id
        _insert(Attachment, [item for message in messages for item in message.attachments], returning=False)
        _insert(OutboxMessage, [outgoing(**entry.sending, related=entry.acknowledgement)
                                for entry in opened if entry.acknowledgement], returning=False)
        followed = [{"ticket_id": entry.ticket.id} for entry in self.entries
                    if not entry.is_new and not inspect(entry.ticket).transient]
        if followed:  # as the services' unit of work would: a row that changes gets a new version
            table = Ticket.__table__
            db.session.execute(update(table).where(table.c.id == bindparam("ticket_id"),
                                                   or_(table.c.activity_at != self.now, table.c.updated_at != self.now))
                               .values(activity_at=self.now, updated_at=self.now, version=table.c.version + 1)
                               .execution_options(synchronize_session=False), followed)
        _insert_rows(audit.AuditEvent.__table__, [row for entry in self.entries for row in _audit_rows(entry)])
        self._reindex()
        outcomes = [("new_ticket" if entry.is_new else "follow_up", entry.ticket.id) for entry in self.entries]
        _insert_rows(ReceivedMail.__table__, [{**entry.ledger, "outcome": kind, "ticket_id": number, "is_message_id_reused": False}
                                               for entry, (kind, number) in zip(self.entries, outcomes, strict=True)])
        return outcomes

    def _acknowledge(self, opened: list[Entry]) -> None:
        """An acknowledgement per new ticket, as ``mailing.acknowledge`` decides: not to the desk, at most one
        per sender every ten minutes (this batch included)."""
        desk = mailing.desk_addresses()
        addresses = {(entry.ticket.requester_email or "").lower() for entry in opened} - desk - {""}
        recent = mailing.recently_acknowledged(sorted(addresses), self.now) if addresses else set()
        for entry in opened:
            address = (entry.ticket.requester_email or "").lower()
            if not address or address in desk or address in recent:
                continue
            recent.add(address)
            entry.acknowledgement, entry.sending = mailing.acknowledgement(entry.ticket, self.now)

    def _reindex(self) -> None:
        tickets = {entry.ticket.id: entry.ticket for entry in self.entries}
        messages: dict[int, list] = {number: [] for number in tickets}
        for row in db.session.execute(select(Message.ticket_id, Message.kind, Message.body_text, Message.deleted_at)
                                      .where(Message.ticket_id.in_(tickets)).order_by(Message.id)):
            messages[row.ticket_id].append(row)
        search.replace_many(db.session, "ticket", [(number, indexed_text(tickets[number].subject, rows))
                                                   for number, rows in messages.items()])


def _audit_rows(entry: Entry) -> list[dict[str, Any]]:
    """The events ``open_ticket`` and an inbound message record."""
    if not entry.is_new:
        return [audit.row(None, "message_inbound", entry.ticket, {"message_id": {"before": None,
                                                                                "after": entry.message.id}})]
    rows = [audit.row(None, "created", entry.ticket, created_changes(entry.ticket))]
    if clock := audit.diff({}, audit.snapshot(entry.ticket, clocks.CLOCKED)):
        rows.append(audit.row(None, "clock", entry.ticket, clock))
    return rows


def _insert(model, objects: list, returning: bool = True) -> list[int]:
    """Insert new objects (outside the session) as rows; their ids, in order."""
    return _insert_rows(model.__table__, [_row(item) for item in objects], returning)


def _insert_rows(table: Table, rows: list[dict[str, Any]], returning: bool = False) -> list[int]:
    if not rows:
        return []
    if not returning:
        db.session.execute(insert(table), rows)
        return []
    if db.session.get_bind().dialect.name != "sqlite":
        return list(db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows))
    # SQLite cannot return many new ids in order (SQLAlchemy would then insert row by row): the rows get the
    # ids SQLite would give them, after the largest. Should another writer take one first, the insert fails
    # and the caller takes the batch's messages one at a time.
    first = (db.session.scalar(select(func.max(table.c.id))) or 0) + 1
    ids = list(range(first, first + len(rows)))
    db.session.execute(insert(table), [{**row, "id": number} for row, number in zip(rows, ids, strict=True)])
    return ids


def _row(item: Any) -> dict[str, Any]:
    """The columns of an object outside the session: foreign keys taken from the objects it refers to,
    the columns it leaves unset given their defaults, as the unit of work would."""
    references, columns = _layout(inspect(item).mapper)
    values = item.__dict__
    for key, pairs in references:
        if key in values:
            target = values[key]
            for local, remote in pairs:
                setattr(item, local, None if target is None else getattr(target, remote))
    row = {}
    for attribute, column, default in columns:
        if attribute in values:
            row[column] = values[attribute]
        elif default is not _NONE:
            row[column] = default() if callable(default) else default
    return row


_NONE = object()  # a primary key the database numbers


@cache
def _layout(mapper: Mapper) -> tuple[list, list]:
    """What ``_row`` reads of a mapper: its many-to-one references as (attribute, [(local, remote)]) and its
    columns as (attribute, column, default)."""
    references = [(relationship.key, [(mapper.get_property_by_column(local).key, remote.key)
                                      for local, remote in relationship.local_remote_pairs])
                  for relationship in mapper.relationships
                  if relationship.direction is RelationshipDirection.MANYTOONE]
    columns = []
    for column in mapper.local_table.columns:
        if column.primary_key:
            default = _NONE
        elif column.default is None:
            default = None
        elif column.default.is_callable:
            default = partial(column.default.arg, None)
        else:
            default = column.default.arg
        columns.append((mapper.get_property_by_column(column).key, column.key, default))
    return references, columns
