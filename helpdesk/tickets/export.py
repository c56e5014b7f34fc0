"""Exporting tickets as JSON (with every message: the backup and migration format) or CSV (one row each)."""
from __future__ import annotations

import csv
import json
from datetime import datetime, timezone
from email.utils import formataddr
from typing import IO, Iterator

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from helpdesk.extensions import db
from helpdesk.tickets.models import HeldMail, Message, Ticket

CSV_COLUMNS = ("number", "subject", "status", "priority", "category", "channel", "council", "instance_url",
               "requester", "requester_email", "requester_phone", "assignee", "created_at", "updated_at",
               "first_response_at", "resolved_at", "closed_at", "merged_into", "messages")


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a Z, or None."""
    return value.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if value else None


def _tickets() -> Iterator[Ticket]:
    statement = (select(Ticket).order_by(Ticket.id).options(
        selectinload(Ticket.messages).selectinload(Message.attachments),
        selectinload(Ticket.messages).selectinload(Message.call)))
    for ticket in db.session.scalars(statement.execution_options(yield_per=500)):
        yield ticket


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


def held_record(held: HeldMail) -> dict:
    return {"message_id": held.message_id, "from": held.from_address, "subject": held.subject,
            "reason": held.reason, "received_at": iso(held.received_at), "status": held.status,
            "mailbox": held.mailbox, "size": held.size, "sha256": held.raw_sha256, "ticket": held.ticket_id}


def write_json(output: IO[str]) -> int:
    """Write ``{"tickets": [...], "filtered": [...], "quarantine": [...]}`` one ticket at a time (memory
    stays flat); return how many tickets."""
    count = 0
    output.write('{"tickets": [')
    for ticket in _tickets():
        output.write(("\n" if count == 0 else ",\n") + json.dumps(ticket_record(ticket), ensure_ascii=False))
        count += 1
        if count % 500 == 0:
            db.session.expunge_all()
    output.write("\n]")
    for key, kind in (("filtered", "filtered"), ("quarantine", "quarantined")):
        records = [held_record(held) for held in db.session.scalars(
            select(HeldMail).where(HeldMail.kind == kind).order_by(HeldMail.id))]
        output.write(f', "{key}": ' + json.dumps(records, ensure_ascii=False))
    output.write("}\n")
    return count


def write_csv(output: IO[str]) -> int:
    writer = csv.writer(output)
    writer.writerow(CSV_COLUMNS)
    count = 0
    for ticket in _tickets():
        record = ticket_record(ticket)
        writer.writerow([record["number"], record["subject"], record["status"], record["priority"],
                         record["category"], record["channel"], record["council"], record["instance_url"],
                         record["requester"]["name"], record["requester"]["email"], record["requester"]["phone"],
                         record["assignee"], record["created_at"], record["updated_at"], record["first_response_at"],
                         record["resolved_at"], record["closed_at"], record["merged_into"], len(record["messages"])])
        count += 1
        if count % 500 == 0:
            db.session.expunge_all()
    return count
