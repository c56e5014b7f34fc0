"""Jobs of accompaniment: session reminders one working day before (each sent once)."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from helpdesk.accompaniment.models import AccompanimentSession
from helpdesk.accompaniment.services import remind_session
from helpdesk.accompaniment.states import SessionStatus
from helpdesk.core.models import utcnow
from helpdesk.core.scheduling import Job
from helpdesk.extensions import db

# One working day before can be more than a day before (weekends, holidays): two weeks cover any stretch.
LOOKAHEAD = timedelta(days=15)


def send_reminders(now: datetime | None = None) -> int:
    """Remind the adviser and attendees of each planned session one working day before it, once; one
    transaction per session."""
    now = now or utcnow()
    upcoming = db.session.scalars(select(AccompanimentSession.id).where(
        AccompanimentSession.status == SessionStatus.PLANNED, AccompanimentSession.reminded_at.is_(None),
        AccompanimentSession.starts_at > now, AccompanimentSession.starts_at < now + LOOKAHEAD)
        .order_by(AccompanimentSession.starts_at, AccompanimentSession.id)).all()
    count = 0
    for session_id in upcoming:
        session = db.session.get(AccompanimentSession, session_id)
        if session is not None and remind_session(session, now):
            db.session.commit()
            count += 1
    return count


JOBS = [Job("accompaniment-reminders", send_reminders, seconds=900)]
