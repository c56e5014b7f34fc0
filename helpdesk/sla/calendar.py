"""Business-time arithmetic: pure Python, no Flask, no database.

An instant is business time when its wall-clock time in the calendar's zone falls inside one of that
weekday's opening intervals ``[open, close)`` and its local date is not a holiday. Everything is exact
to the microsecond, across daylight-saving changes in both directions.

For speed the calendar lays out, year by year and on demand, the business segments as UTC instants
with the business time accumulated before each; ``elapsed`` and ``add`` are then a binary search and
some arithmetic, a few microseconds whatever the span.
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
MICROSECOND = timedelta(microseconds=1)
DAY_MICROSECONDS = 86_400_000_000
MIN_YEAR, MAX_YEAR = 1971, 2999

Interval = tuple[time, time]


def _us(moment: datetime) -> int:
    """An aware datetime as whole microseconds since 1970 (UTC); naive datetimes are refused."""
    if moment.tzinfo is None or moment.tzinfo.utcoffset(moment) is None:
        raise ValueError(f"naive datetime {moment!r}: business time needs an aware datetime")
    return (moment - EPOCH) // MICROSECOND


def _of_day(value: time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * 1_000_000 + value.microsecond


def check_intervals(weekly: Mapping[int, Sequence[Interval]]) -> dict[int, list[tuple[int, int]]]:
    """Each weekday's intervals as microseconds of the day, sorted; ValueError naming what is wrong.

    A close of ``time(0)`` means midnight at the end of the day.
    """
    checked: dict[int, list[tuple[int, int]]] = {}
    for weekday, intervals in weekly.items():
        if weekday not in range(7):
            raise ValueError(f"weekday {weekday!r} is not 0 (Monday) to 6 (Sunday)")
        spans = []
        for opens, closes in intervals:
            start, end = _of_day(opens), _of_day(closes) or DAY_MICROSECONDS
            if end <= start:
                raise ValueError(f"{opens:%H:%M}–{closes:%H:%M} closes before it opens")
            spans.append((start, end))
        spans.sort()
        for (_, first_end), (second_start, _) in zip(spans, spans[1:], strict=False):
            if second_start < first_end:
                raise ValueError("opening intervals of the same day overlap")
        checked[weekday] = spans
    return checked


class BusinessCalendar:
    """Weekly opening intervals in a time zone, minus holidays."""

    def __init__(self, zone: str, weekly: Mapping[int, Sequence[Interval]],
                 holidays: Iterable[date] = ()) -> None:
        self.zone_name = zone
        self.zone = ZoneInfo(zone)
        self.weekly = check_intervals(weekly)
        self.holidays = frozenset(holidays)
        self.is_always = False
        # The years laid out, first to last; an empty range (first > last) until the first is.
        self._first_year = MAX_YEAR + 1
        self._last_year = MIN_YEAR - 1
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._before: list[int] = []  # business time before each segment
        self._after: list[int] = []  # business time up to each segment's end

    @classmethod
    def always(cls, zone: str) -> BusinessCalendar:
        """Every instant is business time (24x7)."""
        calendar = cls(zone, {})
        calendar.is_always = True
        return calendar

    @property
    def has_business_time(self) -> bool:
        return self.is_always or any(self.weekly.values())

    # --- public arithmetic ----------------------------------------------------------------------

    def elapsed(self, start: datetime, end: datetime) -> timedelta:
        """Business time inside ``[start, end)``; zero when ``end <= start``."""
        a, b = _us(start), _us(end)
        if b <= a:
            return timedelta(0)
        if self.is_always:
            return timedelta(microseconds=b - a)
        self._cover_instant(a)
        self._cover_instant(b)  # both first: widening the layout renumbers the accumulated time
        return timedelta(microseconds=self._business_at(b) - self._business_at(a))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest instant ``t >= start`` with ``elapsed(start, t) == duration``."""
        a = _us(start)
        amount = duration // MICROSECOND
        if amount < 0:
            raise ValueError("cannot add a negative business duration")
        if amount == 0:
            return start
        if self.is_always:
            return EPOCH + timedelta(microseconds=a + amount)
        if not self.has_business_time:
            raise ValueError("this calendar has no business time at all")
        self._cover_instant(a)
        target = self._business_at(a) + amount
        while True:
            index = bisect_left(self._after, target)
            if index < len(self._after):
                moment = self._starts[index] + (target - self._before[index])
                # In UTC: a local time in the autumn's repeated hour would not compare equal across zones.
                return EPOCH + timedelta(microseconds=moment)
            # Extending forwards keeps the accumulated times; jump by about as many years as are missing.
            years = self._last_year - self._first_year + 1
            per_year = max(1, self._after[-1] // years) if self._after else DAY_MICROSECONDS
            self._cover(min(MAX_YEAR, self._last_year + 1 + (target - (self._after[-1] if self._after else 0))
                            // per_year))

    # --- the layout -----------------------------------------------------------------------------

    def _business_at(self, moment: int) -> int:
        """Business time from the start of the covered range up to the instant ``moment``."""
        self._cover_instant(moment)
        index = bisect_right(self._starts, moment) - 1
        if index < 0:
            return 0
        return self._before[index] + min(moment - self._starts[index], self._ends[index] - self._starts[index])

    def _cover_instant(self, moment: int) -> None:
        year = (EPOCH + timedelta(microseconds=moment)).astimezone(self.zone).year
        self._cover(year)

    def _cover(self, year: int) -> None:
        """Make sure the layout spans ``year`` (and a year either side, for instants near the edges)."""
        if not MIN_YEAR <= year <= MAX_YEAR:
            raise ValueError(f"year {year} is outside what business time is computed for "
                             f"({MIN_YEAR}–{MAX_YEAR})")
        wanted_first, wanted_last = max(MIN_YEAR, year - 1), min(MAX_YEAR, year + 1)
        if self._first_year <= wanted_first and wanted_last <= self._last_year:
            return
        first, last = min(wanted_first, self._first_year), max(wanted_last, self._last_year)
        segments = []
        day = date(first, 1, 1)
        while day.year <= last:
            segments.extend(self._day_segments(day))
            day += timedelta(days=1)
        self._starts = [start for start, _ in segments]
        self._ends = [end for _, end in segments]
        self._before, self._after, total = [], [], 0
        for start, end in segments:
            self._before.append(total)
            total += end - start
            self._after.append(total)
        self._first_year, self._last_year = first, last

    def is_business_day(self, day: date) -> bool:
        """Whether ``day`` has any opening hours (a weekday that is not a holiday)."""
        return bool(self.weekly.get(day.weekday())) and day not in self.holidays

    def next_business_day(self, day: date) -> date:
        following = day + timedelta(days=1)
        for _ in range(366):
            if self.is_business_day(following):
                return following
            following += timedelta(days=1)
        return following  # a calendar with no business day at all: any day will do

    def _day_segments(self, day: date) -> list[tuple[int, int]]:
        """The business segments of one local day, as UTC microseconds."""
        spans = self.weekly.get(day.weekday())
        if not spans or day in self.holidays:
            return []
        day_start = _us(datetime.combine(day, time(0), self.zone))
        day_end = _us(datetime.combine(day + timedelta(days=1), time(0), self.zone))
        segments = []
        # Within a day the offset is constant except across a transition: split the day there.
        for piece_start, piece_end, offset in self._pieces(day_start, day_end):
            local_midnight = day_start + self._offset(day_start)  # wall-clock microseconds of 00:00
            for opens, closes in spans:
                start = max(local_midnight + opens - offset, piece_start)
                end = min(local_midnight + closes - offset, piece_end)
                if end > start:
                    segments.append((start, end))
        segments.sort()
        return segments

    def _offset(self, moment: int) -> int:
        instant = EPOCH + timedelta(microseconds=moment)
        offset = instant.astimezone(self.zone).utcoffset()
        assert offset is not None  # an aware datetime in a ZoneInfo always has one; typeshed allows None
        return offset // MICROSECOND

    def _pieces(self, start: int, end: int) -> list[tuple[int, int, int]]:
        """``[start, end)`` split where the zone's offset changes, each piece with its offset.

        Days start and end on whole seconds and zones change offset on whole seconds, so the change
        is searched second by second.
        """
        first, last = self._offset(start), self._offset(end - 1)
        if first == last:
            return [(start, end, first)]
        low, high = start // 1_000_000, (end - 1) // 1_000_000  # offset(low) == first != offset(high)
        while high - low > 1:
            middle = (low + high) // 2
            if self._offset(middle * 1_000_000) == first:
                low = middle
            else:
                high = middle
        change = high * 1_000_000
        return [(start, change, first), (change, end, last)]
