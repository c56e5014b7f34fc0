"""Held mail in the JSON backup: the messages kept aside, beside the tickets (tickets.export writes them)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

from sqlalchemy import select

from helpdesk.mail.models import HeldKind, HeldMail
from helpdesk.tickets.export import chunks, iso


# One held message in the backup ("from" is no Python name, hence this form).
HeldRecord = TypedDict("HeldRecord", {
    "message_id": str, "from": str, "subject": str, "reason": str, "received_at": str | None, "status": str,
    "mailbox": str, "size": int, "sha256": str, "ticket": int | None})


def held_record(held: HeldMail) -> HeldRecord:
    return {"message_id": held.message_id, "from": held.from_address, "subject": held.subject,
            "reason": held.reason, "received_at": iso(held.received_at), "status": held.status.value,
            "mailbox": held.mailbox, "size": held.size, "sha256": held.raw_sha256, "ticket": held.ticket_id}


def held_records(kind: HeldKind) -> Iterator[HeldRecord]:
    for chunk in chunks(select(HeldMail).where(HeldMail.kind == kind), HeldMail.id):
        for (held,) in chunk:
            yield held_record(held)


def held_sections() -> list[tuple[str, Iterator[HeldRecord]]]:
    """The backup's "filtered" and "quarantine" lists."""
    return [("filtered", held_records(HeldKind.FILTERED)), ("quarantine", held_records(HeldKind.QUARANTINED))]
