"""What a council's renewal dossier holds, gathered for a period: its grants and their periods, its tickets by
category with their SLA compliance (the SLA report's own computation, one council's), its platforms'
availability per month and outages, the accompaniment sessions held, satisfaction, and the Decidim versions
its platforms ran. Read only: nothing here writes."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from helpdesk.accompaniment.models import AccompanimentRequest, AccompanimentSession
from helpdesk.accompaniment.states import SESSION_KINDS, Need, SessionStatus
from helpdesk.catalog.models import CatalogRequest, Grant
from helpdesk.catalog.services import grant_end
from helpdesk.catalog.states import RequestKind, RequestStatus
from helpdesk.councils.models import Council
from helpdesk.dossier.models import InstanceVersion
from helpdesk.extensions import db
from helpdesk.instances.models import HealthDay, Outage, PlatformInstance
from helpdesk.instances.releases import all_releases, state
from helpdesk.tickets.reports import Row, compliance
from helpdesk.tickets.satisfaction import Summary, summary

#: The longest period a dossier covers: three grants of two years.
LONGEST_PERIOD_YEARS = 6


@dataclass(frozen=True)
class Period:
    """Local days from ``start`` to ``end``, both included."""

    start: date
    end: date

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as aware moments: its first instant and the first instant after it."""
        return (datetime.combine(self.start, time.min, zone),
                datetime.combine(self.end + timedelta(days=1), time.min, zone))

    def years(self) -> list[Period]:
        """The period cut in years from its start (the last one may be shorter)."""
        pieces, start = [], self.start
        while start <= self.end:
            end = min(start + relativedelta(years=1) - timedelta(days=1), self.end)
            pieces.append(Period(start, end))
            start = end + timedelta(days=1)
        return pieces


@dataclass(frozen=True)
class GrantPeriod:
    """Two years of a grant: the first from the request that was granted, each next one from a renewal."""

    number: int
    starts_on: date
    ends_on: date
    request: CatalogRequest | None  # the request (new or renewal) that gave this period, when known

    @property
    def period(self) -> Period:
        return Period(self.starts_on, self.ends_on - timedelta(days=1))  # the next period starts on ends_on


@dataclass(frozen=True)
class GrantHistory:
    grant: Grant
    periods: list[GrantPeriod]


@dataclass(frozen=True)
class TicketYear:
    """Tickets by category with their SLA compliance, over one year of the period (or the whole of it)."""

    period: Period
    rows: list[Row]

    @property
    def tickets(self) -> int:
        return sum(row.tickets for row in self.rows)


@dataclass
class Month:
    month: date  # its first day
    checks: int = 0
    up_checks: int = 0

    @property
    def share(self) -> float | None:
        return self.up_checks / self.checks if self.checks else None


@dataclass(frozen=True)
class Availability:
    """One platform's share of good checks per month (from the monitor's daily sums, planned maintenance left
    out), and over the whole period."""

    instance: PlatformInstance
    months: list[Month]

    @property
    def share(self) -> float | None:
        checks = sum(month.checks for month in self.months)
        return sum(month.up_checks for month in self.months) / checks if checks else None


@dataclass(frozen=True)
class Outages:
    count: int = 0
    still_open: int = 0
    total: timedelta = timedelta(0)
    longest: timedelta = timedelta(0)


@dataclass(frozen=True)
class SessionKind:
    kind: Need
    count: int
    minutes: int

    @property
    def label(self) -> str:
        return str(SESSION_KINDS[self.kind])


@dataclass(frozen=True)
class SessionsHeld:
    kinds: list[SessionKind] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(item.count for item in self.kinds)

    @property
    def minutes(self) -> int:
        return sum(item.minutes for item in self.kinds)


@dataclass(frozen=True)
class VersionSeen:
    host: str
    version: str
    first_seen_at: datetime
    is_current: bool  # what the platform runs now
    state: str  # current, behind, unsupported or unknown (instances/releases.py), of the version now


@dataclass(frozen=True)
class Dossier:
    council: Council
    period: Period
    grants: list[GrantHistory]
    years: list[TicketYear]
    whole: TicketYear
    availability: list[Availability]
    outages: Outages
    sessions: SessionsHeld
    satisfaction: Summary
    versions: list[VersionSeen]

    @property
    def is_empty(self) -> bool:
        """Nothing at all to show: no grant, ticket, check, outage, session, rating or version."""
        return not (self.grants or self.whole.tickets or any(item.months for item in self.availability)
                    or self.outages.count or self.sessions.count or self.satisfaction.total or self.versions)


def grant_history(council: Council) -> list[GrantHistory]:
    """The council's grants, oldest first, each cut in its two-year periods: a renewal extends a grant from its
    previous end, so the periods follow from its start and the renewals granted (in the order decided)."""
    grants = db.session.scalars(select(Grant).where(Grant.council_id == council.id)
                                .order_by(Grant.starts_on, Grant.id)).all()
    renewals: dict[int, list[CatalogRequest]] = {}
    for item in db.session.scalars(select(CatalogRequest).where(
            CatalogRequest.council_id == council.id, CatalogRequest.kind == RequestKind.RENEWAL,
            CatalogRequest.status == RequestStatus.GRANTED).order_by(CatalogRequest.decided_at, CatalogRequest.id)):
        renewals.setdefault(item.renews_grant_id or 0, []).append(item)
    history = []
    for record in grants:
        sources = [record.request] + renewals.get(record.id, [])
        periods, start = [], record.starts_on
        for number in range(record.renewals + 1):
            end = grant_end(start)
            periods.append(GrantPeriod(number + 1, start, end, sources[number] if number < len(sources) else None))
            start = end
        history.append(GrantHistory(record, periods))
    return history


def default_period(history: list[GrantHistory], today: date) -> Period:
    """The grant period under way today (of the latest grant), up to today; else the latest one that ended;
    without any grant, the last twelve months."""
    periods = sorted((item for record in history for item in record.periods), key=lambda item: item.starts_on)
    current = [item for item in periods if item.starts_on <= today]
    if not current:
        return Period(today - relativedelta(years=1) + timedelta(days=1), today)
    chosen = current[-1].period
    return Period(chosen.start, min(chosen.end, today))


def _tickets(council: Council, period: Period, zone: str) -> TicketYear:
    return TicketYear(period, compliance(period.start, period.end, "category", zone, council_id=council.id))


def _availability(instances: list[PlatformInstance], period: Period) -> list[Availability]:
    """Per month, from HealthDay (days in UTC, as the monitor sums them)."""
    months: dict[int, dict[date, Month]] = {item.id: {} for item in instances}
    if instances:
        for instance_id, day, checks, up_checks in db.session.execute(
                select(HealthDay.instance_id, HealthDay.day, HealthDay.checks, HealthDay.up_checks).where(
                    HealthDay.instance_id.in_(list(months)), HealthDay.day >= period.start,
                    HealthDay.day <= period.end)):
            first = day.replace(day=1)
            month = months[instance_id].setdefault(first, Month(first))
            month.checks += checks
            month.up_checks += up_checks
    return [Availability(item, [months[item.id][key] for key in sorted(months[item.id])]) for item in instances]


def _outages(instances: list[PlatformInstance], since: datetime, until: datetime, now: datetime) -> Outages:
    """The outages that began in the period; one still open counts until ``now``."""
    if not instances:
        return Outages()
    lengths, still_open = [], 0
    for started_at, ended_at in db.session.execute(select(Outage.started_at, Outage.ended_at).where(
            Outage.instance_id.in_([item.id for item in instances]), Outage.started_at >= since,
            Outage.started_at < until)):
        still_open += ended_at is None
        lengths.append(max((ended_at or now) - started_at, timedelta(0)))
    return Outages(len(lengths), still_open, sum(lengths, timedelta(0)), max(lengths, default=timedelta(0)))


def _sessions(council: Council, since: datetime, until: datetime) -> SessionsHeld:
    rows = db.session.execute(
        select(AccompanimentSession.kind, func.count(AccompanimentSession.id),
               func.sum(AccompanimentSession.duration_minutes))
        .join(AccompanimentRequest, AccompanimentRequest.id == AccompanimentSession.request_id)
        .where(AccompanimentRequest.council_id == council.id, AccompanimentSession.status == SessionStatus.HELD,
               AccompanimentSession.starts_at >= since, AccompanimentSession.starts_at < until)
        .group_by(AccompanimentSession.kind))
    found = {kind: SessionKind(kind, count, int(minutes or 0)) for kind, count, minutes in rows}
    return SessionsHeld([found[kind] for kind in Need if kind in found])


def version_history(council: Council) -> list[VersionSeen]:
    """Every Decidim version the council's platforms were seen running, oldest first, whatever the period."""
    releases = all_releases()
    rows = db.session.execute(
        select(InstanceVersion.version, InstanceVersion.first_seen_at, PlatformInstance)
        .join(PlatformInstance, PlatformInstance.id == InstanceVersion.instance_id)
        .where(PlatformInstance.council_id == council.id)
        .order_by(PlatformInstance.id, InstanceVersion.first_seen_at, InstanceVersion.id)).all()
    latest = {instance.id: index for index, (_version, _seen, instance) in enumerate(rows)}
    return [VersionSeen(instance.host, version, seen, latest[instance.id] == index
                        and version == instance.decidim_version, state(version, releases))
            for index, (version, seen, instance) in enumerate(rows)]


def build(council: Council, period: Period | None, now: datetime, zone: str) -> Dossier:
    """The council's dossier over ``period`` (None: the grant period under way, see ``default_period``)."""
    local = ZoneInfo(zone)
    history = grant_history(council)
    period = period or default_period(history, now.astimezone(local).date())
    since, until = period.bounds(local)
    instances = list(db.session.scalars(select(PlatformInstance).where(PlatformInstance.council_id == council.id)
                                        .order_by(PlatformInstance.id)))
    years = [_tickets(council, piece, zone) for piece in period.years()]
    whole = years[0] if len(years) == 1 else _tickets(council, period, zone)
    return Dossier(council=council, period=period, grants=history, years=years, whole=whole,
                   availability=_availability(instances, period), outages=_outages(instances, since, until, now),
                   sessions=_sessions(council, since, until),
                   satisfaction=summary(since, until, council_id=council.id), versions=version_history(council))
