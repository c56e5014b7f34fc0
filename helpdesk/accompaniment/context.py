"""The council's accompaniment sessions beside each of its tickets (registered with the tickets' context).

Accompaniment sits above tickets, so tickets cannot ask it by name: this module adds itself to
``helpdesk.tickets.context.CONTEXT_SECTIONS`` when it is imported (the app factory imports it).
"""
from __future__ import annotations

from datetime import datetime

from flask import url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, select
from sqlalchemy.orm import contains_eager

from helpdesk.accompaniment.models import AccompanimentRequest, AccompanimentSession
from helpdesk.accompaniment.states import SESSION_KINDS, SessionStatus
from helpdesk.auth.models import User
from helpdesk.extensions import db
from helpdesk.tickets.context import SHOWN, ContextItem, ContextList, context_section
from helpdesk.tickets.models import Ticket


def sessions_of_council(council_id: int, user: User, now: datetime, limit: int = SHOWN) -> list[AccompanimentSession]:
    """The council's sessions that ``user`` may see: the planned ones to come first (soonest first), then
    the latest others; each with its request, in one query."""
    upcoming = and_(AccompanimentSession.status == SessionStatus.PLANNED, AccompanimentSession.starts_at >= now)
    return list(db.session.scalars(
        select(AccompanimentSession).join(AccompanimentSession.request)
        .options(contains_eager(AccompanimentSession.request))
        .where(AccompanimentRequest.council_id == council_id, AccompanimentRequest.visible_to(user))
        .order_by(case((upcoming, 0), else_=1), case((upcoming, AccompanimentSession.starts_at)).asc(),
                  AccompanimentSession.starts_at.desc(), AccompanimentSession.id.desc())
        .limit(limit)))


@context_section
def _sessions_beside_ticket(ticket: Ticket, user: User, now: datetime) -> ContextList | None:
    if ticket.council_id is None or not user.is_staff:
        return None
    items = [ContextItem(label=f"{SESSION_KINDS.get(session.kind, session.kind.label)} · {session.request.action}",
                         url=url_for("accompaniment.show", request_id=session.request_id),
                         detail=str(session.status.label), when=session.starts_at)
             for session in sessions_of_council(ticket.council_id, user, now)]
    return ContextList(title=str(_l("Accompaniment sessions")), items=items,
                       all_url=url_for("accompaniment.history", council=ticket.council_id),
                       empty=str(_l("No accompaniment sessions.")))
