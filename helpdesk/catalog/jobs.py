"""Jobs of the catalogue: grace, lapse and renewal reminders (hourly; each reminder is sent once)."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from helpdesk.auth.models import User
from helpdesk.catalog.models import CatalogRequest, Grant
from helpdesk.catalog.services import Reminder, enter_grace, lapse, reminder_days, reminder_for, send_reminder, \
    today_in_madrid
from helpdesk.catalog.states import GrantStatus
from helpdesk.core.models import utcnow
from helpdesk.core.scheduling import Job
from helpdesk.extensions import db


def expire_grants(now: datetime) -> tuple[int, int]:
    """Grants past their end enter the grace period; past the grace period they lapse, with their instance;
    one transaction per grant."""
    today = today_in_madrid(now)
    entered = lapsed = 0
    ended = db.session.scalars(select(Grant.id).where(Grant.status == GrantStatus.ACTIVE, Grant.ends_on < today)
                               .order_by(Grant.id)).all()
    for grant_id in ended:
        record = db.session.get(Grant, grant_id)
        if record is not None and enter_grace(record, today):
            db.session.commit()
            entered += 1
    grace = timedelta(days=current_app.config["CATALOG_GRACE_DAYS"])
    overdue = db.session.scalars(select(Grant.id).where(Grant.status == GrantStatus.GRACE,
                                                        Grant.ends_on < today - grace).order_by(Grant.id)).all()
    for grant_id in overdue:
        record = db.session.get(Grant, grant_id)
        if record is not None and lapse(record, today):
            db.session.commit()
            lapsed += 1
    return entered, lapsed


def send_reminders(now: datetime, dry_run: bool = False) -> list[Reminder]:
    """Send the renewal reminders due today, each once, one transaction per grant; with ``dry_run``, only
    say which they are."""
    today = today_in_madrid(now)
    managers = tuple(db.session.scalars(select(User.email).where(CatalogRequest.deciders()).order_by(User.id)))
    horizon = today + timedelta(days=max(reminder_days()))
    ending = db.session.scalars(select(Grant.id).where(Grant.status == GrantStatus.ACTIVE, Grant.ends_on >= today,
                                                       Grant.ends_on <= horizon)
                                .order_by(Grant.ends_on, Grant.id)).all()
    reminders = []
    for grant_id in ending:
        record = db.session.get(Grant, grant_id)
        reminder = reminder_for(record, today, managers) if record is not None else None
        if reminder is None:
            continue
        if not dry_run:
            send_reminder(reminder, now)
            db.session.commit()
        reminders.append(reminder)
    return reminders


def due_reminders(now: datetime) -> list[Reminder]:
    """The renewal reminders due today, sending none."""
    return send_reminders(now, dry_run=True)


def daily(now: datetime | None = None) -> str:
    """The scheduler's job: grace and lapse first, then the reminders."""
    now = now or utcnow()
    entered, lapsed = expire_grants(now)
    sent = send_reminders(now)
    return f"{entered} grants in grace, {lapsed} lapsed, {len(sent)} reminders"


JOBS = [Job("catalog", daily, seconds=3600)]
