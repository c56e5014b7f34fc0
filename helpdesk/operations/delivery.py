"""What an outbox message is about, named and linked for a person checking its delivery (a reply's
ticket, a catalogue or accompaniment request…). It sits in operations because it reads every domain."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.accompaniment.models import AccompanimentRequest
from helpdesk.catalog.models import CatalogRequest, Grant
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from helpdesk.tickets.models import Message, Ticket

# related_type → its name, and the page that shows it with the name of that page's argument.
KINDS: dict[str, tuple[Any, str | None, str]] = {
    Ticket.__tablename__: (_l("Ticket #%(number)d"), "tickets.show", "number"),
    CatalogRequest.__tablename__: (_l("Catalogue request #%(number)d"), "catalog.show", "request_id"),
    AccompanimentRequest.__tablename__: (_l("Accompaniment request #%(number)d"), "accompaniment.show",
                                         "request_id"),
    Grant.__tablename__: (_l("Grant #%(number)d"), None, ""),
}


@dataclass(frozen=True)
class Related:
    label: str
    endpoint: str | None = None  # for url_for, with ``values``
    values: dict[str, Any] = field(default_factory=dict)


def related_records(messages: Iterable[OutboxMessage]) -> dict[int, Related]:
    """What each message is about, by outbox id (a ticket message counts as its ticket); none for mail
    about nothing in particular."""
    messages = list(messages)
    replies = [item.related_id for item in messages if item.related_type == Message.__tablename__ and item.related_id]
    ticket_of = dict(db.session.execute(select(Message.id, Message.ticket_id).where(Message.id.in_(replies)))
                     .tuples().all()) if replies else {}
    found: dict[int, Related] = {}
    for item in messages:
        kind, number = item.related_type, item.related_id
        if kind == Message.__tablename__:
            kind, number = Ticket.__tablename__, ticket_of.get(number)
        if number is None or not kind:
            continue
        label, endpoint, argument = KINDS.get(kind, (None, None, ""))
        text = str(label % {"number": number}) if label is not None else f"{kind} #{number}"
        found[item.id] = Related(text, endpoint, {argument: number} if endpoint else {})
    return found
