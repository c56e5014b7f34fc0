"""Jobs of the tickets domain: SLA warnings and breaches (every minute), the platform monitor."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select

from helpdesk.core.models import utcnow
from helpdesk.core.scheduling import Job
from helpdesk.tickets.live import forget_old_events
from helpdesk.extensions import db
from helpdesk.tickets.clocks import announce_sla
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.outages import monitor
from helpdesk.tickets.states import ACTIVE_STATUSES


def check_sla(now: datetime | None = None) -> dict[str, int]:
    """Mark and announce tickets whose clocks reached the warning share or the target; commit per ticket."""
    now = now or utcnow()
    counts = {"at_risk": 0, "breached": 0}
    for name in ("first_response", "resolution"):
        running = Ticket.status.in_(ACTIVE_STATUSES)
        if name == "first_response":
            running = and_(running, Ticket.first_response_at.is_(None))
        warn_at, due_at = getattr(Ticket, f"{name}_warn_at"), getattr(Ticket, f"{name}_due_at")
        warned, breached = getattr(Ticket, f"{name}_warned_at"), getattr(Ticket, f"{name}_breached_at")
        candidates = db.session.scalars(select(Ticket.id).where(running, or_(
            and_(warn_at <= now, warned.is_(None)), and_(due_at < now, breached.is_(None))))
            .order_by(Ticket.id)).all()
        for ticket_id in candidates:
            ticket = db.session.get(Ticket, ticket_id)
            event = announce_sla(ticket, name, now) if ticket is not None else None
            if event:
                counts[event] += 1
            db.session.commit()
    return counts


JOBS = [Job("sla", check_sla, seconds=60), Job("monitor", monitor, seconds=120, setting="MONITOR_MINUTES"),
        Job("live-log", forget_old_events, seconds=3600)]
