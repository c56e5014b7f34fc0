"""Calendars and SLA policies: the rules for editing them, and the business calendar each one means."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_data
from blinker import Namespace
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import transaction_cache, utcnow
from helpdesk.extensions import db
from helpdesk.sla.calendar import BusinessCalendar, check_intervals
from helpdesk.sla.models import (HOLIDAY_YEARS, NAME_MAX_LENGTH, OFFICIAL_HOLIDAYS, POLICY_DIMENSIONS, Calendar,
                                 CalendarInterval, Holiday, SlaPolicy)

_built: dict[int, tuple[object, BusinessCalendar]] = {}
_signals = Namespace()
#: Sent after a calendar or policy changed (in the same transaction): the tickets domain recomputes its
#: open tickets' due times. ``sender`` is the changed Calendar or SlaPolicy.
targets_changed = _signals.signal("sla-targets-changed")


def require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators change calendars and SLA policies."))


def official_holidays(code: str, years: Iterable[int] = HOLIDAY_YEARS) -> dict[date, str]:
    """Official holidays by date, named in Catalan (the `holidays` package computes Easter and the rest)."""
    if not code:
        return {}
    country, _, subdivision = code.partition("-")
    return dict(holiday_data.country_holidays(country, subdiv=subdivision or None, years=years, language="ca"))


def support_calendar() -> BusinessCalendar | None:
    """The support hours (the first calendar that is not 24x7): what "a working day" means to the desk."""
    calendar = db.session.scalar(select(Calendar).where(Calendar.is_24x7.is_(False)).order_by(Calendar.id))
    return business_calendar(calendar) if calendar is not None else None


def business_calendar(calendar: Calendar) -> BusinessCalendar:
    """The arithmetic for ``calendar``, built once per version of it (per process)."""
    version = calendar.updated_at  # every change of hours or holidays moves it (see save_calendar, add_holiday)
    cached = _built.get(calendar.id)
    if cached is not None and cached[0] == version:
        return cached[1]
    if calendar.is_24x7:
        built = BusinessCalendar.always(calendar.timezone)
    else:
        weekly: dict[int, list[tuple[time, time]]] = {}
        for interval in calendar.intervals:
            weekly.setdefault(interval.weekday, []).append((interval.opens, interval.closes))
        days = set(official_holidays(calendar.official_holidays)) | {holiday.day for holiday in calendar.holidays}
        built = BusinessCalendar(calendar.timezone, weekly, holidays=days)
    _built[calendar.id] = (version, built)
    return built


@dataclass(frozen=True)
class CalendarData:
    name: str
    timezone: str
    is_24x7: bool
    official_holidays: str
    intervals: list[tuple[int, time, time]]  # weekday, opens, closes


def save_calendar(actor: User | None, data: CalendarData, calendar: Calendar | None = None) -> Calendar:
    """Create or change a calendar; overlapping or reversed intervals are refused, naming the day."""
    require_admin(actor)
    name = " ".join(data.name.split())
    if not name or len(name) > NAME_MAX_LENGTH:
        raise DomainError(_l("Give the calendar a name (at most %(count)d characters).", count=NAME_MAX_LENGTH),
                          "name")
    same = db.session.scalar(select(Calendar).where(Calendar.name == name))
    if same is not None and same is not calendar:
        raise DomainError(_l("There is already a calendar called “%(name)s”.", name=name), "name")
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise DomainError(_l("Unknown time zone “%(zone)s”.", zone=data.timezone), "timezone") from None
    if data.official_holidays not in OFFICIAL_HOLIDAYS:
        raise DomainError(_l("Unknown set of official holidays."), "official_holidays")
    weekly: dict[int, list[tuple[time, time]]] = {}
    for weekday, opens, closes in data.intervals:
        weekly.setdefault(weekday, []).append((opens, closes))
    for weekday, spans in sorted(weekly.items()):
        try:
            check_intervals({weekday: spans})
        except ValueError as error:
            raise DomainError(_l("%(day)s: %(problem)s.", day=WEEKDAYS.get(weekday, weekday),
                                 problem=_problem(str(error))), f"day_{weekday}") from None
    if calendar is not None and not data.is_24x7 and not data.intervals and _in_use(calendar):
        raise DomainError(_l("This calendar is used by SLA policies: it needs some business time."), "intervals")
    before = audit.snapshot(calendar, Calendar.AUDITED) if calendar else {}
    if calendar is None:
        calendar = Calendar(name=name)
        db.session.add(calendar)
    calendar.name, calendar.timezone, calendar.is_24x7 = name, data.timezone, data.is_24x7
    calendar.official_holidays = data.official_holidays
    calendar.intervals = [CalendarInterval(weekday=weekday, opens=opens, closes=closes)
                          for weekday, opens, closes in sorted(data.intervals)]
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(calendar, Calendar.AUDITED))
    if changes:
        audit.record(actor, "updated" if before else "created", calendar, changes)
        calendar.updated_at = utcnow()
        targets_changed.send(calendar)
    return calendar


WEEKDAYS = {0: _l("Monday"), 1: _l("Tuesday"), 2: _l("Wednesday"), 3: _l("Thursday"), 4: _l("Friday"),
            5: _l("Saturday"), 6: _l("Sunday")}


def _problem(message: str) -> LazyString:
    if "overlap" in message:
        return _l("two opening intervals overlap")
    return _l("an interval closes before it opens")


def _in_use(calendar: Calendar) -> bool:
    return db.session.scalar(select(SlaPolicy.id).where(SlaPolicy.calendar_id == calendar.id).limit(1)) is not None


def add_holiday(actor: User | None, calendar: Calendar, day: date, name: str) -> Holiday:
    """Add a local holiday or a one-off closure to a calendar."""
    require_admin(actor)
    name = " ".join(name.split())
    if not name or len(name) > NAME_MAX_LENGTH:
        raise DomainError(_l("Name the holiday (at most %(count)d characters).", count=NAME_MAX_LENGTH), "name")
    if day.year not in HOLIDAY_YEARS:
        raise DomainError(_l("%(day)s is outside the years a calendar covers (%(first)d–%(last)d).",
                             day=day.isoformat(), first=HOLIDAY_YEARS[0], last=HOLIDAY_YEARS[-1]), "day")
    if any(holiday.day == day for holiday in calendar.holidays):
        raise DomainError(_l("%(day)s is already a holiday of this calendar.", day=day.isoformat()), "day")
    holiday = Holiday(calendar=calendar, day=day, name=name)
    db.session.add(holiday)
    calendar.updated_at = utcnow()
    db.session.flush()
    audit.record(actor, "holiday_added", calendar, {"holiday": {"before": None, "after": f"{day} {name}"}})
    targets_changed.send(calendar)
    return holiday


def remove_holiday(actor: User | None, holiday: Holiday) -> None:
    require_admin(actor)
    calendar = holiday.calendar
    audit.record(actor, "holiday_removed", calendar, {"holiday": {"before": f"{holiday.day} {holiday.name}",
                                                                  "after": None}})
    calendar.holidays.remove(holiday)
    calendar.updated_at = utcnow()
    db.session.flush()
    targets_changed.send(calendar)


def upcoming_holidays(calendar: Calendar, today: date, count: int = 12) -> list[tuple[date, str, bool]]:
    """The next holidays: (day, name, official?)."""
    official = official_holidays(calendar.official_holidays, years=range(today.year, today.year + 2))
    days = [(day, str(name), True) for day, name in official.items() if day >= today]
    days += [(holiday.day, holiday.name, False) for holiday in calendar.holidays if holiday.day >= today]
    return sorted(days)[:count]


@dataclass(frozen=True)
class PolicyData:
    name: str
    category: str | None
    priority: str | None
    calendar_id: int | None
    first_response_minutes: int
    resolution_minutes: int
    name_es: str = ""  # the name in Spanish and in English: empty shows the Catalan ``name``
    name_en: str = ""


def save_policy(actor: User | None, data: PolicyData, policy: SlaPolicy | None = None) -> SlaPolicy:
    """Create or change a policy; its calendar must have some business time."""
    require_admin(actor)
    name = " ".join(data.name.split())
    if not name or len(name) > NAME_MAX_LENGTH:
        raise DomainError(_l("Give the policy a name (at most %(count)d characters).", count=NAME_MAX_LENGTH),
                          "name")
    translated = {field: " ".join(written.split()) for field, written in (("name_es", data.name_es),
                                                                          ("name_en", data.name_en))}
    for field_name, written in translated.items():
        if len(written) > NAME_MAX_LENGTH:
            raise DomainError(_l("A name has at most %(count)d characters.", count=NAME_MAX_LENGTH), field_name)
    for dimension, value in (("category", data.category), ("priority", data.priority)):
        if value is not None and value not in POLICY_DIMENSIONS[dimension]:
            raise DomainError(_l("Unknown value “%(value)s”.", value=value), dimension)
    calendar = db.session.get(Calendar, data.calendar_id) if data.calendar_id else None
    if calendar is None:
        raise DomainError(_l("Choose the calendar the targets are counted in."), "calendar_id")
    if not business_calendar(calendar).has_business_time:
        raise DomainError(_l("The calendar “%(name)s” has no business time at all: targets could never be "
                             "reached.", name=calendar.name), "calendar_id")
    for field_name, minutes in (("first_response_minutes", data.first_response_minutes),
                                ("resolution_minutes", data.resolution_minutes)):
        if not 1 <= minutes <= 60 * 24 * 365:
            raise DomainError(_l("A target must be between 1 minute and a year."), field_name)
    if data.resolution_minutes < data.first_response_minutes:
        raise DomainError(_l("The resolution target cannot be shorter than the first-response target."),
                          "resolution_minutes")
    same = db.session.scalar(select(SlaPolicy).where(SlaPolicy.category.is_(data.category) if data.category is None
                                                     else SlaPolicy.category == data.category,
                                                     SlaPolicy.priority.is_(data.priority) if data.priority is None
                                                     else SlaPolicy.priority == data.priority))
    if same is not None and same is not policy:
        raise DomainError(_l("The policy “%(name)s” already covers this category and priority.",
                             name=same.localized_name), "category")
    before = audit.snapshot(policy, SlaPolicy.AUDITED) if policy else {}
    if policy is None:
        policy = SlaPolicy(name=name)
        db.session.add(policy)
    policy.name, policy.category, policy.priority = name, data.category, data.priority
    policy.name_es, policy.name_en = translated["name_es"], translated["name_en"]
    policy.calendar = calendar
    policy.first_response_minutes, policy.resolution_minutes = data.first_response_minutes, data.resolution_minutes
    db.session.flush()
    transaction_cache("sla_policies").clear()
    changes = audit.diff(before, audit.snapshot(policy, SlaPolicy.AUDITED))
    if changes:
        audit.record(actor, "updated" if before else "created", policy, changes)
        policy.updated_at = utcnow()
        targets_changed.send(policy)
    return policy


def choose_policy(category: str, priority: str) -> SlaPolicy | None:
    """The most specific policy: category and priority, then category, then priority, then the default."""
    cache = transaction_cache("sla_policies")
    if "all" not in cache:
        cache["all"] = db.session.scalars(select(SlaPolicy)).all()
    policies = cache["all"]

    def rank(policy: SlaPolicy) -> int | None:
        if policy.category not in (None, category) or policy.priority not in (None, priority):
            return None
        return (policy.category is not None) * 2 + (policy.priority is not None)
    ranked = [(rank(policy), policy.id, policy) for policy in policies if rank(policy) is not None]
    return max(ranked)[2] if ranked else None

