"""Exporting tickets as JSON (with every message: the backup and migration format) or CSV (one row each).

Both read the tickets in chunks of ``CHUNK`` by ticket number (keyset: ``id > last``), write a chunk and
let it go before reading the next, so memory stays flat whatever the count. One long ORM stream
(``yield_per``) cannot be used for that: its eager loads and the identity map keep growing, and
clearing the session under an open stream breaks it (the export failed past 500 tickets).
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from email.utils import formataddr
from typing import IO, Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from helpdesk.core import csvsafe
from helpdesk.extensions import db
from helpdesk.tickets.models import Message, Ticket

CHUNK = 500  # rows a query reads; also the size of the IN lists of its eager loads

CSV_COLUMNS = ("number", "subject", "status", "priority", "category", "channel", "council", "instance_url",
               "requester", "requester_email", "requester_phone", "assignee", "created_at", "updated_at",
               "first_response_at", "resolved_at", "closed_at", "merged_into", "messages")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def chunks(statement: Select, key: Any) -> Iterator[list]:
    """The rows of ``statement`` ordered by the unique ``key`` column, ``CHUNK`` at a time; each chunk
    leaves the session once the caller has written it."""
    last = None
    while True:
        query = statement.order_by(key).limit(CHUNK)
        if last is not None:
            query = query.where(key > last)
        chunk = db.session.execute(query).all()
        if not chunk:
            return
        yield chunk
        last = getattr(chunk[-1][0], key.key)
        db.session.expunge_all()


def _snapshot() -> None:
    """On PostgreSQL, read every chunk from one snapshot, so a backup taken while people work is
    consistent (a message added meanwhile is in it with its ticket or not at all). SQLite's readers
    already see one state per statement and writers wait for them; nothing to do there."""
    if db.engine.dialect.name == "postgresql" and not db.session().in_transaction():
        db.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def _ticket_query(with_messages: bool) -> Select:
    statement = select(Ticket).options(selectinload(Ticket.council), selectinload(Ticket.instance),
                                       selectinload(Ticket.assignee))
    if with_messages:
        return statement.options(selectinload(Ticket.messages).selectinload(Message.attachments),
                                 selectinload(Ticket.messages).selectinload(Message.call))
    count = select(func.count(Message.id)).where(Message.ticket_id == Ticket.id).scalar_subquery()
    return statement.add_columns(count)


def ticket_record(ticket: Ticket) -> dict:
    return {
        "number": ticket.id,
        "subject": ticket.subject,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "category": ticket.category.value,
        "channel": ticket.channel.value,
        "council": ticket.council.name if ticket.council else None,
        "council_ine_code": ticket.council.ine_code if ticket.council else None,
        "instance_url": ticket.instance.base_url if ticket.instance else None,
        "requester": {"name": ticket.requester_name or None, "email": ticket.requester_email,
                      "phone": ticket.requester_phone},
        "assignee": ticket.assignee.email if ticket.assignee else None,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "first_response_at": iso(ticket.first_response_at),
        "resolved_at": iso(ticket.resolved_at),
        "closed_at": iso(ticket.closed_at),
        "merged_into": ticket.merged_into_id,
        "messages": [message_record(message) for message in ticket.messages],
    }


def message_record(message: Message) -> dict:
    record = {
        "kind": message.kind.value,
        "from": formataddr((message.from_name, message.from_address)) if message.from_address else message.from_name,
        "to": message.to_addresses,
        "cc": message.cc_addresses,
        "subject": message.subject,
        "message_id": message.message_id,
        "created_at": iso(message.created_at),
        "author": message.author.email if message.author else None,
        "body_text": message.body_text,
        "body_html": message.body_html,
        "deleted_at": iso(message.deleted_at),
        "bounced_at": iso(message.bounced_at),
        "attachments": [{"filename": item.filename, "content_type": item.content_type, "size": item.size,
                         "sha256": item.sha256} for item in message.attachments],
    }
    if message.call is not None:
        call = message.call
        record["call"] = {"direction": call.direction.value, "caller_number": call.caller_number,
                          "caller_name": call.caller_name, "started_at": iso(call.started_at),
                          "duration_seconds": call.duration_seconds}
    return record


def write_json(output: IO[str], sections: Iterable[tuple[str, Iterable[dict]]] = ()) -> int:
    """Write ``{"tickets": [...]}`` a chunk of tickets at a time (memory stays flat), with each of
    ``sections`` as one more list (the held mail, from the mail domain); return how many tickets."""
    _snapshot()
    count = 0
    output.write('{"tickets": [')
    for chunk in chunks(_ticket_query(with_messages=True), Ticket.id):
        for (ticket,) in chunk:
            output.write(("\n" if count == 0 else ",\n") + json.dumps(ticket_record(ticket), ensure_ascii=False))
            count += 1
    output.write("\n]")
    for key, records in sections:
        output.write(f', "{key}": [')
        separator = ""  # the list as json.dumps writes it: items joined by ", "
        for record in records:
            output.write(separator + json.dumps(record, ensure_ascii=False))
            separator = ", "
        output.write("]")
    output.write("}\n")
    return count


def write_csv(output: IO[str]) -> int:
    """Write a header and one row per ticket (its messages counted), text kept text in spreadsheets;
    return how many tickets."""
    _snapshot()
    writer = csvsafe.writer(output)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for chunk in chunks(_ticket_query(with_messages=False), Ticket.id):
        for ticket, messages in chunk:
            writer.writerow([
                ticket.id, ticket.subject, ticket.status.value, ticket.priority.value, ticket.category.value,
                ticket.channel.value, ticket.council.name if ticket.council else None,
                ticket.instance.base_url if ticket.instance else None, ticket.requester_name or None,
                ticket.requester_email, ticket.requester_phone, ticket.assignee.email if ticket.assignee else None,
                iso(ticket.created_at), iso(ticket.updated_at), iso(ticket.first_response_at),
                iso(ticket.resolved_at), iso(ticket.closed_at), ticket.merged_into_id, messages])
        count += len(chunk)
    return count
