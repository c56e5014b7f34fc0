"""The support hours in words, read from the support calendar, in the reader's language: what the desk's
e-mail tells people ("Monday to Friday, 9:00 to 14:00 and 15:00 to 17:00, except holidays").

Day names and the way a list is joined ("a, b and c", "a, b i c") come from CLDR through Babel; the few
phrases around them are translated messages."""
from __future__ import annotations

from babel.dates import get_day_names
from babel.lists import format_list
from flask_babel import gettext as _

from helpdesk.core.emails import in_language
from helpdesk.core.models import transaction_cache
from helpdesk.sla.calendar import DAY_MICROSECONDS, BusinessCalendar
from helpdesk.sla.services import support_calendar


def describe_hours(calendar: BusinessCalendar | None, language: str) -> str:
    """The opening hours of ``calendar`` as a phrase in ``language``; empty without a calendar."""
    if calendar is None:
        return ""
    with in_language(language):
        if calendar.is_always:
            return str(_("every day, at any time"))
        days = get_day_names("wide", locale=language)  # 0 is Monday, as in the calendar
        groups: dict[tuple[tuple[int, int], ...], list[int]] = {}
        for weekday in range(7):
            spans = tuple(calendar.weekly.get(weekday, ()))
            if spans:
                groups.setdefault(spans, []).append(weekday)
        if not groups:
            return str(_("no opening hours"))
        parts = []
        for spans, weekdays in sorted(groups.items(), key=lambda item: item[1][0]):
            runs = [_("%(first)s to %(last)s", first=days[run[0]], last=days[run[-1]]) if len(run) > 2
                    else format_list([days[day] for day in run], locale=language) for run in _runs(weekdays)]
            hours = [_("%(opens)s to %(closes)s", opens=_clock(opens), closes=_clock(closes)) for opens, closes in spans]
            parts.append(_("%(days)s, %(hours)s", days=format_list(runs, locale=language),
                           hours=format_list(hours, locale=language)))
        described = "; ".join(parts)
        return str(_("%(hours)s, except holidays", hours=described)) if calendar.holidays else described


def support_hours(language: str) -> str:
    """The desk's support hours (the support calendar) in ``language``, asked once per transaction."""
    known: dict[str, str] = transaction_cache("support_hours")
    if language not in known:
        known[language] = describe_hours(support_calendar(), language)
    return known[language]


def _runs(weekdays: list[int]) -> list[list[int]]:
    """Consecutive weekdays together: [0, 1, 2, 4] → [[0, 1, 2], [4]]."""
    runs: list[list[int]] = []
    for day in weekdays:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _clock(microseconds: int) -> str:
    """A time of day as 9:00 or 17:30 (a close at midnight reads 24:00)."""
    minutes = microseconds // 60_000_000
    if microseconds == DAY_MICROSECONDS:
        minutes = 24 * 60
    return f"{minutes // 60}:{minutes % 60:02d}"
