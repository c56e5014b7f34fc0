"""BusinessCalendar: tables of known answers, then hypothesis against a minute-by-minute reference."""
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.sla import BusinessCalendar

MADRID = ZoneInfo("Europe/Madrid")
SUPPORT_HOURS = {day: [(time(9), time(14)), (time(15), time(17))] for day in range(5)}
HOLIDAYS = [date(2026, 1, 1), date(2026, 1, 6), date(2026, 4, 3), date(2026, 4, 6), date(2026, 12, 25),
            date(2026, 12, 26), date(2027, 1, 1)]
CALENDAR = BusinessCalendar("Europe/Madrid", SUPPORT_HOURS, holidays=HOLIDAYS)


def at(*parts, second=0):
    return datetime(*parts, second=second, tzinfo=MADRID)


@pytest.mark.parametrize("start, hours, minutes, expected", [
    (at(2026, 11, 23, 13, 30), 0, 30, at(2026, 11, 23, 14, 0)),  # up to the close, not past lunch
    (at(2026, 11, 23, 13, 30), 0, 31, at(2026, 11, 23, 15, 1)),  # over the lunch gap
    (at(2026, 11, 23, 14, 20), 0, 10, at(2026, 11, 23, 15, 10)),  # starting inside the gap
    (at(2026, 11, 23, 8, 0), 7, 0, at(2026, 11, 23, 17, 0)),  # a whole day before opening
    (at(2026, 11, 23, 17, 0), 0, 1, at(2026, 11, 24, 9, 1)),  # from the close to the next morning
    (at(2026, 11, 27, 16, 0), 2, 0, at(2026, 11, 30, 10, 0)),  # Friday to Monday over the weekend
    (at(2026, 11, 28, 12, 0), 1, 0, at(2026, 11, 30, 10, 0)),  # starting on a Saturday
    (at(2026, 4, 2, 16, 0), 2, 0, at(2026, 4, 7, 10, 0)),  # Easter: Good Friday and Easter Monday
    (at(2026, 12, 24, 16, 30), 1, 0, at(2026, 12, 28, 9, 30)),  # Christmas and Sant Esteve
    (at(2026, 12, 31, 16, 0), 2, 0, at(2027, 1, 4, 10, 0)),  # over the year end and New Year
    (at(2026, 3, 27, 16, 0), 2, 0, at(2026, 3, 30, 10, 0)),  # over the March change (CET -> CEST)
    (at(2026, 10, 23, 16, 0), 2, 0, at(2026, 10, 26, 10, 0)),  # over the October change (CEST -> CET)
    (at(2026, 11, 23, 10, 0), 0, 0, at(2026, 11, 23, 10, 0)),  # adding nothing
    (at(2026, 11, 22, 10, 0), 0, 0, at(2026, 11, 22, 10, 0)),  # adding nothing on a Sunday stays put
    (at(2026, 11, 23, 9, 0), 35, 0, at(2026, 11, 27, 17, 0)),  # a week's worth
    (at(2026, 11, 23, 9, 0), 7 * 250, 0, at(2027, 11, 9, 17, 0)),  # 250 working days (counted by hand)
])
def test_add(start, hours, minutes, expected):
    result = CALENDAR.add(start, timedelta(hours=hours, minutes=minutes))
    assert result == expected
    assert result.tzinfo is not None


@pytest.mark.parametrize("start, end, expected", [
    (at(2026, 11, 23, 8, 0), at(2026, 11, 23, 20, 0), timedelta(hours=7)),
    (at(2026, 11, 23, 13, 59, second=30), at(2026, 11, 23, 15, 0, second=30), timedelta(seconds=60)),
    (at(2026, 11, 27, 16, 0), at(2026, 11, 30, 10, 0), timedelta(hours=2)),
    (at(2026, 4, 2, 9, 0), at(2026, 4, 7, 9, 0), timedelta(hours=7)),  # Thursday only: the rest is Easter
    (at(2026, 3, 27, 0, 0), at(2026, 3, 31, 0, 0), timedelta(hours=14)),  # across the March change
    (at(2026, 10, 23, 0, 0), at(2026, 10, 27, 0, 0), timedelta(hours=14)),  # across the October change
    (at(2026, 11, 23, 12, 0), at(2026, 11, 23, 12, 0), timedelta(0)),
    (at(2026, 11, 23, 12, 0), at(2026, 11, 23, 11, 0), timedelta(0)),  # end before start
    (at(2026, 1, 1, 0, 0), at(2027, 1, 1, 0, 0), timedelta(hours=7 * (261 - 5))),  # 2026: 261 weekdays, 5 holidays on them
])
def test_elapsed(start, end, expected):
    assert CALENDAR.elapsed(start, end) == expected


def test_instants_in_other_zones_are_the_same_instants():
    start = at(2026, 11, 23, 13, 30).astimezone(timezone.utc)
    assert CALENDAR.add(start, timedelta(minutes=45)) == at(2026, 11, 23, 15, 15)
    assert CALENDAR.elapsed(start, at(2026, 11, 23, 15, 15).astimezone(ZoneInfo("America/New_York"))) == \
        timedelta(minutes=45)


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="naive"):
        CALENDAR.add(datetime(2026, 11, 23, 10), timedelta(hours=1))
    with pytest.raises(ValueError, match="naive"):
        CALENDAR.elapsed(at(2026, 11, 23, 10), datetime(2026, 11, 24, 10))


def test_24x7_is_plain_time_even_across_daylight_saving():
    always = BusinessCalendar.always("Europe/Madrid")
    assert always.elapsed(at(2026, 3, 29, 0, 0), at(2026, 3, 30, 0, 0)) == timedelta(hours=23)
    assert always.add(at(2026, 10, 25, 0, 0), timedelta(hours=24)) == at(2026, 10, 25, 23, 0)


@pytest.mark.parametrize("weekly, message", [
    ({0: [(time(14), time(9))]}, "closes before it opens"),
    ({0: [(time(9), time(14)), (time(13), time(17))]}, "overlap"),
    ({7: [(time(9), time(14))]}, "weekday 7"),
])
def test_bad_intervals_are_refused(weekly, message):
    with pytest.raises(ValueError, match=message):
        BusinessCalendar("Europe/Madrid", weekly)


def test_a_calendar_without_business_time_cannot_add():
    with pytest.raises(ValueError, match="no business time"):
        BusinessCalendar("Europe/Madrid", {}).add(at(2026, 1, 1, 9), timedelta(hours=1))


# --- against an obviously correct reference ------------------------------------------------------

def reference_is_open(calendar: BusinessCalendar, moment: datetime) -> bool:
    local = moment.astimezone(calendar.zone)
    if local.date() in calendar.holidays:
        return False
    of_day = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000
    return any(start <= of_day < end for start, end in calendar.weekly.get(local.weekday(), []))


def reference_elapsed(calendar, start, end) -> timedelta:
    minutes, moment = 0, start
    while moment < end:
        minutes += reference_is_open(calendar, moment)
        moment += timedelta(minutes=1)
    return timedelta(minutes=minutes)


def reference_add(calendar, start, duration) -> datetime:
    wanted, counted, moment = duration // timedelta(minutes=1), 0, start
    while counted < wanted:
        counted += reference_is_open(calendar, moment)
        moment += timedelta(minutes=1)
    return moment


minutes_of_day = st.integers(min_value=0, max_value=24 * 60)


@st.composite
def calendars(draw):
    weekly = {}
    for weekday in range(7):
        cuts = sorted(draw(st.lists(minutes_of_day, min_size=0, max_size=6, unique=True)))
        cuts = cuts[: len(cuts) // 2 * 2]
        spans = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2)]
        weekly[weekday] = [(time(start // 60, start % 60), time(end // 60 % 24, end % 60)) for start, end in spans]
    if not any(weekly.values()):
        weekly[0] = [(time(9), time(17))]
    holidays = draw(st.lists(st.dates(date(2026, 3, 20), date(2026, 11, 5)), max_size=8))
    return BusinessCalendar("Europe/Madrid", weekly, holidays=holidays)


# Starting instants around both daylight-saving changes of 2026 and ordinary weeks, on whole minutes.
starts = st.sampled_from([datetime(2026, 3, 26, tzinfo=timezone.utc), datetime(2026, 10, 22, tzinfo=timezone.utc),
                          datetime(2026, 6, 1, tzinfo=timezone.utc), datetime(2026, 12, 28, tzinfo=timezone.utc)]
                         ).flatmap(lambda base: st.integers(0, 6 * 24 * 60).map(
                             lambda minutes: base + timedelta(minutes=minutes)))


@settings(max_examples=100, deadline=None)
@given(calendar=calendars(), start=starts, span=st.integers(0, 5 * 24 * 60))
def test_elapsed_matches_the_reference(calendar, start, span):
    end = start + timedelta(minutes=span)
    assert calendar.elapsed(start, end) == reference_elapsed(calendar, start, end)


def weekly_minutes(calendar) -> int:
    return sum(end - start for spans in calendar.weekly.values() for start, end in spans) // 60_000_000


@settings(max_examples=100, deadline=None)
@given(calendar=calendars(), start=starts, share=st.floats(0, 2))
def test_add_matches_the_reference_and_inverts_elapsed(calendar, start, share):
    # Up to two weeks' worth of the calendar's business time (at most 40 hours), so the reference stays quick.
    duration = timedelta(minutes=int(min(40 * 60, weekly_minutes(calendar)) * share))
    result = calendar.add(start, duration)
    assert result == reference_add(calendar, start, duration)
    assert calendar.elapsed(start, result) == duration
