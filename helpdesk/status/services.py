"""Planned maintenance (schedule, change, cancel), what a council is told of it and when, and an
instance's state as its council sees it."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, cast

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import CursorResult, Select, and_, exists, or_, select, update
from sqlalchemy.exc import IntegrityError

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed, Problems
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.instances.maintenance import (REASON_MAX_LENGTH, MaintenanceNotice, MaintenanceWindow,
                                            maintenance_instances, window_now)
from helpdesk.instances.models import INSTANCE_EDITORS, DecidimRelease, HealthDay, Outage, PlatformInstance
from helpdesk.instances.releases import state as version_state
from helpdesk.instances.states import InstanceStatus
from helpdesk.status import mail
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.outages import outage_opened, outage_recovered

PLANNERS = INSTANCE_EDITORS  # technicians plan maintenance; administrators may too
LONGEST_WINDOW = timedelta(days=7)  # longer than a week is no maintenance window but a suspension
CHART_DAYS = 90
# Instances a window "for the whole council" covers: those that run or are being set up.
PLANNABLE = (InstanceStatus.PROVISIONING, InstanceStatus.ACTIVE, InstanceStatus.SUSPENDED)


@dataclass(frozen=True)
class MaintenanceData:
    """A window as the form (or the CLI, a test) gives it: aware datetimes, the instances and whole councils."""

    starts_at: datetime | None
    ends_at: datetime | None
    reason: str
    instance_ids: tuple[int, ...] = ()
    council_ids: tuple[int, ...] = ()  # every plannable instance of these councils


def require_planner(actor: User | None) -> None:
    if actor is not None and actor.role not in PLANNERS:
        raise NotAllowed(_l("Only technicians and administrators plan maintenance."))


def _snapshot(window: MaintenanceWindow) -> dict[str, Any]:
    return {"starts_at": audit.plain(window.starts_at), "ends_at": audit.plain(window.ends_at),
            "reason": window.reason, "instances": [item.host for item in window.instances]}


def _skipped(moment: datetime) -> bool:
    """Whether ``moment``'s wall time is one its zone skips (the hour the clocks go forward): Python would
    silently read it an hour later."""
    return moment.astimezone(timezone.utc).astimezone(moment.tzinfo).replace(tzinfo=None) != moment.replace(tzinfo=None)


def _clean(data: MaintenanceData, now: datetime) -> tuple[datetime, datetime, str, list[PlatformInstance]]:
    problems: list[DomainError] = []
    reason = (data.reason or "").strip()
    if not reason:
        problems.append(DomainError(_l("Say what the maintenance is for: the councils read it."), "reason"))
    elif len(reason) > REASON_MAX_LENGTH:
        problems.append(DomainError(_l("The reason must have at most %(count)d characters.",
                                       count=REASON_MAX_LENGTH), "reason"))
    starts_at, ends_at = data.starts_at, data.ends_at
    if starts_at is None:
        problems.append(DomainError(_l("Give the start."), "starts_at"))
    if ends_at is None:
        problems.append(DomainError(_l("Give the end."), "ends_at"))
    skipped = [DomainError(_l("That time does not exist: the clocks go forward an hour that night."), name)
               for name, moment in (("starts_at", starts_at), ("ends_at", ends_at))
               if moment is not None and _skipped(moment)]
    problems.extend(skipped)
    if starts_at is not None and ends_at is not None and not skipped:
        if ends_at <= starts_at:
            problems.append(DomainError(_l("The end must come after the start."), "ends_at"))
        elif ends_at - starts_at > LONGEST_WINDOW:
            problems.append(DomainError(_l("A window lasts at most %(days)d days.", days=LONGEST_WINDOW.days),
                                        "ends_at"))
        elif ends_at <= now:
            problems.append(DomainError(_l("The end has already passed."), "ends_at"))
    chosen: dict[int, PlatformInstance] = {}
    if data.instance_ids:
        for item in db.session.scalars(select(PlatformInstance).where(PlatformInstance.id.in_(data.instance_ids),
                                                                      PlatformInstance.status.in_(PLANNABLE))):
            chosen[item.id] = item
    if data.council_ids:
        for item in db.session.scalars(select(PlatformInstance).where(PlatformInstance.council_id.in_(data.council_ids),
                                                                      PlatformInstance.status.in_(PLANNABLE))):
            chosen[item.id] = item
    if not chosen:
        problems.append(DomainError(_l("Choose at least one instance, or a council with one."), "instance_ids"))
    Problems.raise_if_any(problems)
    assert starts_at is not None and ends_at is not None  # for the type checker: checked above
    return starts_at, ends_at, reason, sorted(chosen.values(), key=lambda item: item.base_url)


def schedule_maintenance(actor: User | None, data: MaintenanceData, now: datetime) -> MaintenanceWindow:
    """Plan a window; the councils are told MAINTENANCE_NOTICE_HOURS before it starts (by the job)."""
    require_planner(actor)
    starts_at, ends_at, reason, instances = _clean(data, now)
    window = MaintenanceWindow(starts_at=starts_at, ends_at=ends_at, reason=reason, instances=instances, revision=1,
                               created_by_id=actor.id if actor is not None else None)
    db.session.add(window)
    db.session.flush()
    audit.record(actor, "created", window, audit.diff({}, _snapshot(window)))
    return window


def update_maintenance(actor: User | None, window: MaintenanceWindow, data: MaintenanceData,
                       now: datetime) -> MaintenanceWindow:
    """Change a window that has not ended; councils already told are told again."""
    require_planner(actor)
    if window.is_cancelled:
        raise DomainError(_l("This maintenance was cancelled: plan a new one."))
    if window.has_ended(now):
        raise DomainError(_l("This maintenance is over: it can no longer be changed."))
    before = _snapshot(window)
    window.starts_at, window.ends_at, window.reason, window.instances = _clean(data, now)
    changes = audit.diff(before, _snapshot(window))
    if changes:
        window.revision += 1
        db.session.flush()
        audit.record(actor, "updated", window, changes)
    return window


def cancel_maintenance(actor: User | None, window: MaintenanceWindow, now: datetime) -> None:
    """Call a window off; the councils that were told of it are told it is cancelled."""
    require_planner(actor)
    if window.is_cancelled:
        raise DomainError(_l("This maintenance was already cancelled."))
    if window.has_ended(now):
        raise DomainError(_l("This maintenance is over: there is nothing to cancel."))
    window.cancelled_at = now
    window.revision += 1
    db.session.flush()
    audit.record(actor, "cancelled", window)


def notice_lead() -> timedelta:
    return timedelta(hours=current_app.config["MAINTENANCE_NOTICE_HOURS"])


def windows_to_tell(now: datetime) -> list[int]:
    """The windows whose councils may have something to hear: not over, and either starting within the
    notice time or already told of (a change or a cancellation is told at once)."""
    told = exists(select(MaintenanceNotice.id).where(MaintenanceNotice.window_id == MaintenanceWindow.id,
                                                     MaintenanceNotice.kind == "planned"))
    return list(db.session.scalars(select(MaintenanceWindow.id).where(
        MaintenanceWindow.ends_at > now,
        or_(and_(MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.starts_at <= now + notice_lead()),
            told)).order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id)))


def tell_councils(window: MaintenanceWindow, now: datetime) -> int:
    """Tell each council what it has not heard yet of ``window``: the plan (once it is within the notice
    time), a change of it, or that it is off for them (cancelled, or their instances taken out). The
    number of councils told."""
    rows = {row.council_id: row for row in db.session.scalars(
        select(MaintenanceNotice).where(MaintenanceNotice.window_id == window.id))}
    affected = set() if window.is_cancelled else window.council_ids
    due = window.starts_at - notice_lead() <= now
    told = 0
    for council_id in sorted(affected):
        row = rows.get(council_id)
        if row is not None and row.kind == "planned" and row.revision >= window.revision:
            continue
        if row is None or row.kind == "cancelled":
            if not due:
                continue
            changed = False
        else:
            changed = True
        council = db.session.get(Council, council_id)
        if council is None or not _claim(window, council_id, row, "planned", now):
            continue
        hosts = [item.host for item in window.instances if item.council_id == council_id]
        mail.tell_maintenance(window, council, hosts, changed=changed)
        told += 1
    for council_id, row in rows.items():
        if council_id in affected or row.kind != "planned" or not _claim(window, council_id, row, "cancelled", now):
            continue
        council = db.session.get(Council, council_id)
        if council is not None:
            mail.tell_maintenance_cancelled(window, council)
        told += 1
    db.session.flush()
    return told


def _claim(window: MaintenanceWindow, council_id: int, row: MaintenanceNotice | None, kind: str,
           now: datetime) -> bool:
    """Take the telling of ``kind`` to the council for this run, in its transaction; False when another run
    (a second scheduler, the CLI) told it since ``row`` was read. A first notice is claimed by its row's
    unique index, a later one by an UPDATE that applies only while the row is as this run read it."""
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(MaintenanceNotice(window_id=window.id, council_id=council_id,
                                                 revision=window.revision, kind=kind, told_at=now))
        except IntegrityError:
            return False
        return True
    claimed = cast(CursorResult[Any], db.session.execute(
        update(MaintenanceNotice).where(MaintenanceNotice.id == row.id, MaintenanceNotice.revision == row.revision,
                                        MaintenanceNotice.kind == row.kind)
        .values(revision=window.revision, kind=kind, told_at=now).execution_options(synchronize_session=False)))
    return bool(claimed.rowcount)


# --- what the council's status page shows --------------------------------------------------------------

@dataclass
class PlatformState:
    """One instance as its council sees it now."""

    instance: PlatformInstance
    state: str  # up, down, maintenance, unknown, or the instance's status (provisioning, suspended…)
    since: datetime | None = None  # down since, or in maintenance until
    window: MaintenanceWindow | None = None
    version: str = "unknown"  # instances.releases.state: current, behind, unsupported, unknown
    supported: bool | None = None  # upstream still gives the line security fixes (None: not known)
    days: list[Day] = field(default_factory=list)
    availability: float | None = None  # over the days shown


@dataclass(frozen=True)
class Day:
    day: date
    checks: int
    up_checks: int

    @property
    def share(self) -> float | None:
        return self.up_checks / self.checks if self.checks else None

    @property
    def level(self) -> str:
        """How the day's bar is coloured: none (no checks), good, degraded or bad."""
        share = self.share
        if share is None:
            return "none"
        return "good" if share >= 0.999 else "degraded" if share >= 0.95 else "bad"


def days_of(instance_id: int, today: date, count: int = CHART_DAYS) -> list[Day]:
    """The last ``count`` days (UTC, as the monitor sums them), oldest first; a day with no row has no checks."""
    first = today - timedelta(days=count - 1)
    rows = {row.day: row for row in db.session.scalars(select(HealthDay).where(
        HealthDay.instance_id == instance_id, HealthDay.day >= first, HealthDay.day <= today))}
    return [Day(day, rows[day].checks, rows[day].up_checks) if day in rows else Day(day, 0, 0)
            for day in (first + timedelta(days=offset) for offset in range(count))]


def platform_state(instance: PlatformInstance, now: datetime, releases: list[DecidimRelease]) -> PlatformState:
    """The instance's state now, its Decidim's standing upstream and its last 90 days."""
    result = PlatformState(instance=instance, state=instance.status.value)
    if instance.status is InstanceStatus.ACTIVE:
        window = window_now(instance.id, now)
        if window is not None:
            result.state, result.since, result.window = "maintenance", window.ends_at, window
        elif instance.health == "down":
            outage = db.session.scalar(select(Outage).where(Outage.instance_id == instance.id,
                                                            Outage.ended_at.is_(None)))
            result.state = "down"
            result.since = outage.started_at if outage is not None else instance.down_since
        else:
            result.state = "up" if instance.health == "up" else "unknown"
    result.version = version_state(instance.decidim_version, releases)
    if result.version != "unknown":
        result.supported = result.version != "unsupported"
    result.days = days_of(instance.id, now.date())
    checks = sum(item.checks for item in result.days)
    result.availability = sum(item.up_checks for item in result.days) / checks if checks else None
    return result


def council_windows(council_id: int, now: datetime) -> Select[tuple[MaintenanceWindow]]:
    """The query of a council's planned maintenance that is current or to come, soonest first."""
    return (select(MaintenanceWindow).where(
        MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.ends_at > now,
        exists(select(maintenance_instances.c.window_id).join(
            PlatformInstance, PlatformInstance.id == maintenance_instances.c.instance_id).where(
            maintenance_instances.c.window_id == MaintenanceWindow.id, PlatformInstance.council_id == council_id)))
        .order_by(MaintenanceWindow.starts_at, MaintenanceWindow.id))


# --- what the monitor announces --------------------------------------------------------------------------

@outage_opened.connect
def _outage_opened(ticket: Ticket, *, now: datetime, **_: Any) -> None:
    """The council hears from the desk that its platform is down, before it writes in (in the monitor's
    transaction: the mail waits in the outbox until that commits)."""
    instance = db.session.get(PlatformInstance, ticket.instance_id) if ticket.instance_id else None
    if instance is None:
        return
    mail.tell_outage(instance.council, instance.host, ticket.reference, instance.down_since or now, ticket)


@outage_recovered.connect
def _outage_recovered(outage: Outage, *, instance: PlatformInstance, ticket: Ticket | None, now: datetime,
                      **_: Any) -> None:
    """The council hears that its platform answers again and how long it did not (only when it was told of
    the outage: one with a ticket)."""
    if ticket is None:
        return
    mail.tell_recovery(instance.council, instance.host, ticket.reference, outage.started_at, now, ticket)
