"""What the lower domains announce, heard here and written as deliveries in the same transaction. The record
in each payload is the API's representation of it (helpdesk/api/representations.py), as it was at the change:
a receiver reads the same shape from a webhook and from the API."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from helpdesk.accompaniment.models import AccompanimentSession
from helpdesk.accompaniment.services import session_booked
from helpdesk.api import representations
from helpdesk.auth.models import User
from helpdesk.catalog.models import CatalogRequest, Grant
from helpdesk.catalog.services import catalogue_request_decided, grant_expiring
from helpdesk.extensions import db
from helpdesk.instances.models import Outage, PlatformInstance
from helpdesk.tickets.models import Message, Ticket
from helpdesk.tickets.outages import outage_opened, outage_recovered
from helpdesk.tickets.services import message_added, ticket_created, ticket_status_changed, ticket_updated
from helpdesk.webhooks.services import queue_event


def _outage(outage: Outage, instance: PlatformInstance) -> dict[str, Any]:
    ended = outage.ended_at
    return {"record": representations.instance(instance),
            "outage": {"started_at": representations.moment(outage.started_at),
                       "ended_at": representations.moment(ended),
                       "duration_seconds": round((ended - outage.started_at).total_seconds()) if ended else None,
                       "ticket_id": outage.ticket_id}}


@ticket_created.connect
def _ticket_created(ticket: Ticket, *, actor: User | None, now: datetime, **_: Any) -> None:
    queue_event("ticket.created", actor, now, lambda: {"record": representations.ticket(ticket)})


@ticket_updated.connect
def _ticket_updated(ticket: Ticket, *, changes: dict[str, Any], actor: User | None, now: datetime, **_: Any) -> None:
    queue_event("ticket.updated", actor, now, lambda: {"record": representations.ticket(ticket), "changes": changes})


@ticket_status_changed.connect
def _status_changed(ticket: Ticket, *, before: Any, after: Any, actor: User | None, now: datetime, **_: Any) -> None:
    queue_event("ticket.status_changed", actor, now, lambda: {
        "record": representations.ticket(ticket),
        "changes": {"status": {"before": before.value, "after": after.value}}})


@message_added.connect
def _message_added(ticket: Ticket, *, message: Message, actor: User | None, now: datetime, **_: Any) -> None:
    queue_event("message.added", actor, now, lambda: {"record": representations.message(message)})


@outage_opened.connect
def _outage_opened(ticket: Ticket, *, now: datetime, **_: Any) -> None:
    def content() -> dict[str, Any]:
        outage = db.session.scalar(select(Outage).where(Outage.instance_id == ticket.instance_id,
                                                        Outage.ended_at.is_(None)))
        instance = db.session.get(PlatformInstance, ticket.instance_id)
        if outage is None or instance is None:  # the monitor adds the outage before it opens its ticket
            return {"record": representations.instance(instance) if instance else None, "outage": None}
        content = _outage(outage, instance)
        content["outage"]["ticket_id"] = ticket.id  # the monitor links the two right after this signal
        return content
    queue_event("outage.opened", None, now, content)


@outage_recovered.connect
def _outage_recovered(outage: Outage, *, instance: PlatformInstance, now: datetime, **_: Any) -> None:
    queue_event("outage.recovered", None, now, lambda: _outage(outage, instance))


@catalogue_request_decided.connect
def _request_decided(request: CatalogRequest, *, actor: User | None, now: datetime, **_: Any) -> None:
    queue_event("catalogue_request.decided", actor, now,
                lambda: {"record": representations.catalogue_request(request)})


@grant_expiring.connect
def _grant_expiring(grant: Grant, *, days_before: int, actor: User | None, now: datetime, **_: Any) -> None:
    queue_event("grant.expiring", actor, now, lambda: {"record": representations.grant(grant),
                                                       "days_before": days_before})


@session_booked.connect
def _session_booked(session: AccompanimentSession, *, actor: User | None, now: datetime, **_: Any) -> None:
    queue_event("session.booked", actor, now, lambda: {"record": representations.accompaniment_session(session)})
