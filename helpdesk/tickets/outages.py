"""The 24x7 monitor: every few minutes each active instance is probed; after K failures in a row one
outage ticket is opened (channel monitor, category outage, so the 24x7 policy; technicians told, each in
their language), never a second while it is open; failures are noted on it (when the error changes, or
every half hour); recovery notes the outage's length and, if configured, resolves it. An instance that
fails again soon after recovering reopens the same ticket, so flapping does not open a string of them.

Inside a planned maintenance window (instances/maintenance.py) checks are still kept, but a failure does
not count towards an outage (so no ticket opens; once the window is over, K failures in a row open one as
usual) and the window's checks are left out of the availability figures (the day's sums and the 24 hours').
An outage already open when a window begins stays open and is noted as before."""
from __future__ import annotations

from datetime import datetime, timedelta

from blinker import Namespace
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from helpdesk.auth.models import Role, User
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.instances.health import Probe, probe_all
from helpdesk.instances.maintenance import covering
from helpdesk.instances.models import HealthCheck, HealthDay, Outage, PlatformInstance
from helpdesk.instances.states import InstanceStatus
from helpdesk.tickets import mailing
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import TicketData, change_status, open_ticket, system_note
from helpdesk.tickets.states import Category, Channel, MessageKind, Priority, TicketStatus

NOTE_EVERY = timedelta(minutes=30)
REOPEN_WITHIN = timedelta(minutes=30)
KEEP_CHECKS = timedelta(days=2)
#: Sent once the monitor opened an outage ticket (sender: the ticket; host, now): notifications listen.
outage_opened = Namespace().signal("outage-opened")
#: Sent once an outage ended (sender: the outage; instance, ticket (or None), now): notices and webhooks listen.
outage_recovered = Namespace().signal("outage-recovered")


def monitor(now: datetime | None = None, probes: dict[int, Probe] | None = None) -> str:
    """The scheduler's job. ``probes`` (by instance id) replaces the network in tests of the rules."""
    now = now or utcnow()
    instances = db.session.scalars(select(PlatformInstance).where(
        PlatformInstance.status == InstanceStatus.ACTIVE).order_by(PlatformInstance.id)).all()
    if probes is None:
        results = probe_all([item.base_url for item in instances], current_app.config["MONITOR_TIMEOUT_SECONDS"])
        probes = {item.id: result for item, result in zip(instances, results, strict=True)}
    opened = 0
    for instance in instances:
        if instance.id in probes:
            opened += record(instance, probes[instance.id], now)
            db.session.commit()
    db.session.execute(delete(HealthCheck).where(HealthCheck.checked_at < now - KEEP_CHECKS))
    db.session.commit()
    return f"{len(probes)} instances probed, {opened} outage tickets opened"


def record(instance: PlatformInstance, result: Probe, now: datetime) -> int:
    """Keep one probe's result and act on it; 1 when an outage ticket was opened."""
    db.session.add(HealthCheck(instance_id=instance.id, checked_at=now, up=result.up, status_code=result.status_code,
                               latency_ms=result.latency_ms, error=result.error[:500]))
    in_maintenance = db.session.scalar(select(covering(instance.id, now)))
    if not in_maintenance:
        _count_day(instance, result, now)
    instance.health_checked_at = now
    if result.up:
        if instance.health == "down":
            _recovered(instance, now)
        instance.health, instance.failures_in_a_row, instance.down_since = "up", 0, None
        return 0
    if in_maintenance and _open_outage(instance) is None:
        instance.health, instance.failures_in_a_row, instance.down_since = "down", 0, None
        return 0
    instance.failures_in_a_row += 1
    instance.down_since = instance.down_since or now
    if instance.failures_in_a_row < current_app.config["MONITOR_FAILURES"]:
        return 0
    instance.health = "down"
    outage = _open_outage(instance)
    if outage is not None:
        if outage.noted_at is None or now - outage.noted_at >= NOTE_EVERY or outage.last_error != result.error[:500]:
            _note(outage, _failure_note(result), now)
        outage.last_error = result.error[:500]
        return 0
    recent = db.session.scalar(select(Outage).where(Outage.instance_id == instance.id,
                                                    Outage.ended_at >= now - REOPEN_WITHIN)
                               .order_by(Outage.ended_at.desc()))
    if recent is not None and recent.ticket_id is not None:
        ticket = db.session.get(Ticket, recent.ticket_id)
        if ticket is not None and ticket.status is not TicketStatus.CLOSED:
            recent.ended_at, recent.last_error = None, result.error[:500]
            if ticket.status is TicketStatus.RESOLVED:
                change_status(None, ticket, TicketStatus.OPEN, now, reason="outage_again")
            _note(recent, _failure_note(result, again=True), now)
            return 0
    outage = Outage(instance_id=instance.id, started_at=instance.down_since, last_error=result.error[:500])
    db.session.add(outage)
    outage.ticket_id = _outage_ticket(instance, result, now).id
    outage.noted_at = now
    return 1


def _open_outage(instance: PlatformInstance) -> Outage | None:
    return db.session.scalar(select(Outage).where(Outage.instance_id == instance.id, Outage.ended_at.is_(None)))


def _count_day(instance: PlatformInstance, result: Probe, now: datetime) -> None:
    day = db.session.scalar(select(HealthDay).where(HealthDay.instance_id == instance.id,
                                                    HealthDay.day == now.date()))
    if day is None:
        day = HealthDay(instance_id=instance.id, day=now.date(), checks=0, up_checks=0, latency_ms_total=0)
        db.session.add(day)
    day.checks += 1
    day.up_checks += int(result.up)
    day.latency_ms_total += result.latency_ms or 0


def _failure_note(result: Probe, again: bool = False) -> str:
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        what = result.error or (f"HTTP {result.status_code}" if result.status_code else "?")
        return (_("Not answering again: %(error)s", error=what) if again
                else _("Still not answering: %(error)s", error=what))


def _note(outage: Outage, body: str, now: datetime) -> None:
    ticket = db.session.get(Ticket, outage.ticket_id) if outage.ticket_id else None
    if ticket is not None and ticket.status is not TicketStatus.CLOSED:
        system_note(ticket, body, now)
    outage.noted_at = now


def _outage_ticket(instance: PlatformInstance, result: Probe, now: datetime) -> Ticket:
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        subject = _("Outage: %(host)s is not answering", host=instance.host)
        body = _("%(host)s (%(council)s) has failed %(count)d checks in a row since %(since)s UTC. Last error: "
                 "%(error)s", host=instance.host, council=instance.council.name, count=instance.failures_in_a_row,
                 since=instance.down_since.strftime("%Y-%m-%d %H:%M"),
                 error=result.error or f"HTTP {result.status_code}")
    ticket = open_ticket(None, TicketData(subject=subject, body=body, channel=Channel.MONITOR,
                                          category=Category.OUTAGE, priority=Priority.URGENT,
                                          council_id=instance.council_id, instance_id=instance.id), now,
                         first_kind=MessageKind.NOTE)
    technicians = db.session.scalars(select(User.email).where(User.role == Role.TECHNICIAN, User.is_active)
                                     .order_by(User.id)).all()
    mailing.tell_outage(ticket, technicians, host=instance.host, council=instance.council.name,
                        failures=instance.failures_in_a_row, since=instance.down_since,
                        error=result.error or f"HTTP {result.status_code}")
    outage_opened.send(ticket, host=instance.host, now=now)
    return ticket


def _recovered(instance: PlatformInstance, now: datetime) -> None:
    outage = _open_outage(instance)
    if outage is None:
        return
    outage.ended_at = now
    ticket = db.session.get(Ticket, outage.ticket_id) if outage.ticket_id else None
    outage_recovered.send(outage, instance=instance, ticket=ticket, now=now)
    if ticket is None or ticket.status is TicketStatus.CLOSED:
        return
    minutes = max(1, round((now - outage.started_at).total_seconds() / 60))
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        system_note(ticket, _("Answering again. The outage lasted %(minutes)d minutes.", minutes=minutes), now)
    if current_app.config["MONITOR_RESOLVE_ON_RECOVERY"] and ticket.status is not TicketStatus.RESOLVED:
        change_status(None, ticket, TicketStatus.RESOLVED, now, reason="recovered")


def availability(instance: PlatformInstance, now: datetime) -> dict[str, float | None]:
    """Share of good checks over 24 hours (from the checks), 30 and 90 days (from the daily sums); checks
    inside planned maintenance are left out of both."""
    checks, good = db.session.execute(select(func.count(HealthCheck.id), func.sum(
        HealthCheck.up.cast(db.Integer))).where(HealthCheck.instance_id == instance.id,
                                                 HealthCheck.checked_at >= now - timedelta(hours=24),
                                                 ~covering(HealthCheck.instance_id, HealthCheck.checked_at))).one()
    result = {"24h": (good or 0) / checks if checks else None}
    for label, days in (("30d", 30), ("90d", 90)):
        total, up = db.session.execute(select(func.sum(HealthDay.checks), func.sum(HealthDay.up_checks)).where(
            HealthDay.instance_id == instance.id, HealthDay.day > now.date() - timedelta(days=days))).one()
        result[label] = (up or 0) / total if total else None
    return result


def hourly(instance: PlatformInstance, now: datetime) -> list[tuple[datetime, int, int]]:
    """(hour, checks, good checks) for the last 24 hours, oldest first, for the chart."""
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23)
    hours = {start + timedelta(hours=index): [0, 0] for index in range(24)}
    for checked_at, up in db.session.execute(select(HealthCheck.checked_at, HealthCheck.up).where(
            HealthCheck.instance_id == instance.id, HealthCheck.checked_at >= start)):
        slot = hours.get(checked_at.replace(minute=0, second=0, microsecond=0))
        if slot is not None:
            slot[0] += 1
            slot[1] += int(up)
    return [(hour, total, good) for hour, (total, good) in hours.items()]


def outages_of(instance: PlatformInstance, since: datetime) -> list[Outage]:
    return list(db.session.scalars(select(Outage).where(Outage.instance_id == instance.id,
                                                        Outage.started_at >= since).order_by(Outage.started_at.desc())))
