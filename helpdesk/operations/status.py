"""How healthy the desk is, as a list of facts: each with its value, a state (ok, warning, problem) and
the threshold that decided it.

The facts come from every domain (mail in and out, held mail, the scheduler and its jobs, the platform
monitor, the disk, the database), which is why this module sits above them all. The page, the
``helpdesk status`` command and ``/health`` all show the same list. Time is injected (``now``); the
thresholds are settings (``STATUS_*``) or follow from the settings that drive the thing judged (the
lease, a job's interval, the monitor's interval).
"""
from __future__ import annotations

import enum
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from helpdesk.mail.models import MailboxSettings, MailboxState, configured_mailboxes
from helpdesk.core.lease import Lease
from helpdesk.core.templating import short_datetime
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage, OutboxStatus
from helpdesk.core.templating import minutes
from helpdesk.extensions import db
from helpdesk.instances.models import HealthCheck, PlatformInstance
from helpdesk.instances.states import InstanceStatus
from helpdesk.operations.models import JobRun
from helpdesk.mail.models import HeldKind, HeldMail, HeldStatus

# More waiting than one delivery round sends (deliver_pending's limit): the outbox is falling behind.
OUTBOX_BACKLOG_WARNING = 200
# Failed and uncertain messages stay in the outbox for good: those of the last week are the news.
OUTBOX_FAILURES_WINDOW = timedelta(days=7)
# The monitor's round may itself take a few minutes (many instances, slow ones): some slack.
MONITOR_WARNING_ROUNDS, MONITOR_PROBLEM_ROUNDS = 3, 10


class State(enum.Enum):
    OK = "ok"
    WARNING = "warning"
    PROBLEM = "problem"

    @property
    def rank(self) -> int:
        return list(State).index(self)

    @property
    def label(self) -> str:
        return str(STATE_LABELS[self])


STATE_LABELS = {State.OK: _l("OK"), State.WARNING: _l("Warning"), State.PROBLEM: _l("Problem")}
GROUPS = {"database": _l("Database"), "mail_in": _l("Mail in"), "mail_out": _l("Mail out"),
          "held_mail": _l("Held mail"), "scheduler": _l("Scheduler"), "monitor": _l("Platform monitor"),
          "storage": _l("Storage")}


@dataclass(frozen=True)
class Fact:
    key: str  # stable, for machines: "outbox.oldest", "mailbox.fetched"…
    group: str  # a key of GROUPS
    name: str
    value: datetime | bool | int | float | str | None  # a float is a percentage
    state: State
    threshold: str  # what decides the state, in words
    detail: str = ""
    subject: str = ""  # which mailbox, job or folder, where there are several

    def as_dict(self) -> dict[str, Any]:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        return {"key": self.key, "group": self.group, "subject": self.subject, "name": self.name, "value": value,
                "state": self.state.value, "threshold": self.threshold, "detail": self.detail}


def worst(facts: Iterable[Fact]) -> State:
    return max((fact.state for fact in facts), key=lambda state: state.rank, default=State.OK)


def by_age(moment: datetime, now: datetime, warning: timedelta, problem: timedelta) -> State:
    """Problem once ``moment`` is more than ``problem`` old, warning once more than ``warning``."""
    age = now - moment
    return State.PROBLEM if age > problem else State.WARNING if age > warning else State.OK


def by_free_share(free: int, total: int, warning_percent: int, problem_percent: int) -> State:
    share = 100 * free / total if total else 0
    return State.PROBLEM if share < problem_percent else State.WARNING if share < warning_percent else State.OK


def duration(span: timedelta) -> str:
    seconds = span.total_seconds()
    return f"{round(seconds)} s" if seconds < 120 else minutes(seconds / 60)


def _age_threshold(warning: timedelta, problem: timedelta) -> str:
    return _("warning after %(warning)s, problem after %(problem)s", warning=duration(warning),
             problem=duration(problem))


def collect(now: datetime | None = None) -> list[Fact]:
    """Every fact, database first; a group that cannot be read is one problem fact saying why."""
    now = now or utcnow()
    config = current_app.config
    facts: list[Fact] = []
    collectors: list[tuple[str, Callable[[datetime, Any], list[Fact]]]] = [
        ("database", database_facts), ("mail_in", mailbox_facts), ("mail_out", outbox_facts),
        ("held_mail", held_mail_facts), ("scheduler", scheduler_facts), ("monitor", monitor_facts),
        ("storage", storage_facts)]
    for group, collector in collectors:
        try:
            facts += collector(now, config)
        except Exception as error:  # noqa: BLE001 - whatever broke, the other groups still report
            db.session.rollback()
            facts.append(Fact(f"{group}.readable", group, _("Could be read"), False, State.PROBLEM,
                              _("problem when it cannot be read"), f"{error.__class__.__name__}: {error}"[:500]))
    return facts


def database_facts(now: datetime, config: Any) -> list[Fact]:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001
        db.session.rollback()
        return [Fact("database.reachable", "database", _("Reachable"), False, State.PROBLEM,
                     _("problem when it does not answer"), f"{error.__class__.__name__}: {error}"[:500])]
    facts = [Fact("database.reachable", "database", _("Reachable"), True, State.OK,
                  _("problem when it does not answer"))]
    heads = set(ScriptDirectory(current_app.extensions["migrate"].directory).get_heads())
    current = set(MigrationContext.configure(db.session.connection()).get_current_heads())
    at_head = current == heads
    facts.append(Fact("database.migrations", "database", _("Schema at the migrations' head"),
                      ", ".join(sorted(current)) or None, State.OK if at_head else State.PROBLEM,
                      _("problem when it is not at the head (%(head)s)", head=", ".join(sorted(heads))),
                      "" if at_head else _("run “helpdesk db upgrade” (with the code that matches)")))
    return facts


def mailbox_facts(now: datetime, config: Any) -> list[Fact]:
    mailboxes, unusable = configured_mailboxes(config)
    states = {state.name: state for state in db.session.scalars(select(MailboxState))}
    facts = [Fact("mailbox.usable", "mail_in", _("Can be used"), False, State.PROBLEM,
                  _("problem when its settings cannot be read"), problem, subject=problem.partition(": ")[0])
             for problem in unusable]
    if not mailboxes and not unusable:
        facts.append(Fact("mailbox.count", "mail_in", _("Mailboxes"), 0, State.WARNING,
                          _("warning when there is none: no mail is fetched")))
    for settings in mailboxes:
        facts += mailbox_state_facts(settings, states.get(settings.name), now, config)
    return facts


def mailbox_state_facts(settings: MailboxSettings, state: MailboxState | None, now: datetime,
                        config: Any) -> list[Fact]:
    """The last good fetch, IDLE and the last error of one mailbox."""
    poll = timedelta(seconds=settings.poll_seconds)
    warning = max(timedelta(minutes=config["STATUS_FETCH_WARNING_MINUTES"]), 2 * poll)
    problem = max(timedelta(minutes=config["STATUS_FETCH_PROBLEM_MINUTES"]), 4 * poll)
    fetched_at = state.fetched_at if state else None
    failed_at = state.failed_at if state else None
    failing = state is not None and state.is_failing
    if fetched_at is None:
        fetched = State.PROBLEM if failing else State.WARNING
    else:
        fetched = by_age(fetched_at, now, warning, problem)
    facts = [Fact("mailbox.fetched", "mail_in", _("Last successful fetch"), fetched_at, fetched,
                  _age_threshold(warning, problem), "" if fetched_at else _("not fetched yet"), settings.name)]
    fresh = fetched_at is not None and fetched is State.OK
    idling = bool(state and state.is_idling and fresh)  # a stale record is a fetcher that stopped
    if idling:
        idle_state, idle_detail = State.OK, _("new mail arrives within seconds")
    elif fresh:
        idle_state, idle_detail = State.OK, _("polled every %(seconds)d s", seconds=settings.poll_seconds)
    else:
        idle_state, idle_detail = State.WARNING, _("neither waiting in IDLE nor polling")
    facts.append(Fact("mailbox.idle", "mail_in", _("IDLE connected"), idling, idle_state,
                      _("warning when the fetcher neither waits in IDLE nor polls"), idle_detail, settings.name))
    if failing:
        facts.append(Fact("mailbox.error", "mail_in", _("Last error"), state.last_error, State.PROBLEM,
                          _("problem while the last attempt failed"),
                          _("at %(time)s", time=short_datetime(failed_at)), settings.name))
    else:
        earlier = _("at %(time)s, fetched since", time=short_datetime(failed_at)) if failed_at else ""
        facts.append(Fact("mailbox.error", "mail_in", _("Last error"), (state.last_error if state else "") or None,
                          State.OK, _("problem while the last attempt failed"), earlier, settings.name))
    return facts


def outbox_facts(now: datetime, config: Any) -> list[Fact]:
    waiting = (OutboxStatus.PENDING, OutboxStatus.SENDING)
    backlog = db.session.scalar(select(func.count(OutboxMessage.id)).where(OutboxMessage.status.in_(waiting)))
    facts = [Fact("outbox.backlog", "mail_out", _("Waiting to be sent"), backlog,
                  State.WARNING if backlog > OUTBOX_BACKLOG_WARNING else State.OK,
                  _("warning above %(count)d (more than one delivery round sends)", count=OUTBOX_BACKLOG_WARNING))]
    oldest = db.session.scalar(select(OutboxMessage).where(OutboxMessage.status.in_(waiting))
                               .order_by(OutboxMessage.created_at, OutboxMessage.id).limit(1))
    warning = timedelta(minutes=config["STATUS_OUTBOX_WARNING_MINUTES"])
    problem = timedelta(minutes=config["STATUS_OUTBOX_PROBLEM_MINUTES"])
    if oldest is None:
        facts.append(Fact("outbox.oldest", "mail_out", _("Oldest waiting"), None, State.OK,
                          _age_threshold(warning, problem), _("nothing waiting")))
    else:
        detail = oldest.last_error
        if not config["SMTP_HOST"]:
            detail = _("no mail server is set (HELPDESK_SMTP_HOST): mail waits in the outbox")
        facts.append(Fact("outbox.oldest", "mail_out", _("Oldest waiting"), oldest.created_at,
                          by_age(oldest.created_at, now, warning, problem), _age_threshold(warning, problem), detail))
    since = now - OUTBOX_FAILURES_WINDOW
    for status, key, name in ((OutboxStatus.FAILED, "outbox.failed", _("Failed in the last 7 days")),
                              (OutboxStatus.UNCERTAIN, "outbox.uncertain", _("Uncertain in the last 7 days"))):
        count = db.session.scalar(select(func.count(OutboxMessage.id)).where(
            OutboxMessage.status == status, OutboxMessage.created_at >= since))
        latest = db.session.scalar(select(OutboxMessage.last_error).where(
            OutboxMessage.status == status, OutboxMessage.created_at >= since)
            .order_by(OutboxMessage.created_at.desc()).limit(1)) if count else ""
        facts.append(Fact(key, "mail_out", name, count, State.WARNING if count else State.OK,
                          _("warning when there is any: see the ticket it belongs to"), latest or ""))
    return facts


def held_mail_facts(now: datetime, config: Any) -> list[Fact]:
    counts = dict(db.session.execute(select(HeldMail.kind, func.count(HeldMail.id))
                                     .where(HeldMail.status == HeldStatus.HELD).group_by(HeldMail.kind)).all())
    quarantined, filtered = counts.get(HeldKind.QUARANTINED, 0), counts.get(HeldKind.FILTERED, 0)
    return [Fact("held.quarantined", "held_mail", _("Quarantined"), quarantined,
                 State.WARNING if quarantined else State.OK,
                 _("warning when any waits: it could not be processed (Administration → Mail)")),
            Fact("held.filtered", "held_mail", _("Filtered"), filtered, State.OK,
                 _("never a warning: machine-written mail, kept for review"))]


def scheduler_facts(now: datetime, config: Any) -> list[Fact]:
    from helpdesk import scheduler  # it gathers every domain's jobs

    lease_span = timedelta(seconds=config["SCHEDULER_LEASE_SECONDS"])
    lease = db.session.get(Lease, scheduler.LEASE)
    if lease is None:
        leader = Fact("scheduler.leader", "scheduler", _("Leader"), None, State.PROBLEM,
                      _("problem when no scheduler holds the lease"), _("no scheduler has run yet"))
        heartbeat_at = None
    else:
        held = lease.expires_at > now
        leader = Fact("scheduler.leader", "scheduler", _("Leader"), lease.holder if held else None,
                      State.OK if held else State.PROBLEM, _("problem when no scheduler holds the lease"),
                      _("the lease runs until %(time)s", time=format_datetime(lease.expires_at, "medium")) if held
                      else _("the lease ran out at %(time)s (last held by %(holder)s)",
                             time=format_datetime(lease.expires_at, "medium"), holder=lease.holder))
        heartbeat_at = lease.expires_at - lease_span  # each renewal sets the end a whole lease ahead
    # The holder renews every third of the lease: two-thirds without one is a missed renewal.
    warning, problem = lease_span * 2 / 3, lease_span
    facts = [leader, Fact("scheduler.heartbeat", "scheduler", _("Heartbeat"), heartbeat_at,
                          by_age(heartbeat_at, now, warning, problem) if heartbeat_at else State.PROBLEM,
                          _age_threshold(warning, problem))]
    runs = {run.name: run for run in db.session.scalars(select(JobRun))}
    for job in scheduler.all_jobs():
        facts.append(job_fact(job.name, timedelta(seconds=job.interval(config)), runs.get(job.name), now, lease_span))
    return facts


def job_fact(name: str, interval: timedelta, run: JobRun | None, now: datetime, lease_span: timedelta) -> Fact:
    """One job's last run: a problem if it failed, a warning if none finished lately."""
    late = 2 * interval + lease_span  # a missed run, and a standby's take-over, are not yet news
    threshold = _("problem when the last run failed; warning when none finished in %(span)s", span=duration(late))
    if run is None:
        return Fact("scheduler.job", "scheduler", _("Last run"), None, State.WARNING, threshold, _("not run yet"),
                    name)
    if not run.is_ok:
        return Fact("scheduler.job", "scheduler", _("Last run"), run.finished_at, State.PROBLEM, threshold,
                    run.result, name)
    return Fact("scheduler.job", "scheduler", _("Last run"), run.finished_at,
                State.WARNING if now - run.finished_at > late else State.OK, threshold,
                _("%(result)s (took %(span)s)", result=run.result or _("done"),
                  span=duration(run.finished_at - run.started_at)), name)


def monitor_facts(now: datetime, config: Any) -> list[Fact]:
    interval = timedelta(minutes=config["MONITOR_MINUTES"])
    warning, problem = MONITOR_WARNING_ROUNDS * interval, MONITOR_PROBLEM_ROUNDS * interval
    threshold = _age_threshold(warning, problem)
    active = db.session.scalar(select(func.count(PlatformInstance.id))
                               .where(PlatformInstance.status == InstanceStatus.ACTIVE))
    last = db.session.scalar(select(func.max(HealthCheck.checked_at)))
    if not active:
        return [Fact("monitor.round", "monitor", _("Last round"), last, State.OK, threshold,
                     _("no active platform to watch"))]
    if last is None:
        return [Fact("monitor.round", "monitor", _("Last round"), None, State.WARNING, threshold,
                     _("no round recorded yet"))]
    probed = db.session.scalar(select(func.count(HealthCheck.id)).where(HealthCheck.checked_at == last))
    down = db.session.scalar(select(func.count(PlatformInstance.id)).where(
        PlatformInstance.status == InstanceStatus.ACTIVE, PlatformInstance.health == "down"))
    return [Fact("monitor.round", "monitor", _("Last round"), last, by_age(last, now, warning, problem), threshold,
                 _("%(probed)d probed, %(down)d not answering", probed=probed, down=down))]


def storage_facts(now: datetime, config: Any, usage: Callable[[Path], Any] = shutil.disk_usage) -> list[Fact]:
    """Free space where the files are kept (and the SQLite file, when it is on another disk)."""
    places = [Path(current_app.instance_path) / "attachments"]
    url = make_url(config["DATABASE_URL"])
    if url.get_backend_name() == "sqlite" and url.database:
        places.append(Path(url.database).parent)
    facts, seen = [], set()
    warning, problem = config["STATUS_DISK_WARNING_PERCENT"], config["STATUS_DISK_PROBLEM_PERCENT"]
    for place in places:
        existing = next(folder for folder in (place, *place.parents) if folder.exists())
        if existing.stat().st_dev in seen:
            continue
        seen.add(existing.stat().st_dev)
        total, _used, free = usage(existing)
        facts.append(Fact("storage.free", "storage", _("Free space"), round(100 * free / total, 1) if total else 0.0,
                          by_free_share(free, total, warning, problem),
                          _("warning below %(warning)d %%, problem below %(problem)d %%", warning=warning,
                            problem=problem),
                          _("%(free)s free of %(total)s", free=_size(free), total=_size(total)), str(place)))
    return facts


def _size(size: int) -> str:
    return f"{size / 1024 ** 3:.1f} GB" if size >= 1024 ** 3 else f"{size / 1024 ** 2:.0f} MB"


def shown(fact: Fact, now: datetime) -> str:
    """A fact's value as a person reads it: local times with their age, yes or no, a percentage."""
    value = fact.value
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return _("%(time)s (%(age)s ago)", time=format_datetime(value, "short"), age=duration(now - value))
    if isinstance(value, float):
        return f"{value:.1f} %"
    return str(value)


def issue(fact: Fact, now: datetime) -> str:
    """One line for a fact that is not OK: where, what, its value and why."""
    where = " · ".join(str(part) for part in (GROUPS[fact.group], fact.subject, fact.name) if part)
    line = f"{fact.state.label}: {where}: {shown(fact, now)}"
    return f"{line} ({fact.detail})" if fact.detail else line


def report(facts: list[Fact], now: datetime) -> dict[str, Any]:
    """The facts for a machine (``/health``, ``helpdesk status --json``), shaped after Zammad's health
    check: ``healthy`` is false while any fact is a problem; ``issues`` names each warning and problem."""
    overall = worst(facts)
    return {"healthy": overall is not State.PROBLEM, "status": overall.value, "checked_at": now.isoformat(),
            "issues": [issue(fact, now) for fact in facts if fact.state is not State.OK],
            "facts": [fact.as_dict() for fact in facts]}
