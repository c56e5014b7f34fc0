"""SLA calendar benchmark: 100,000 mixed `add` and `elapsed` calls on the support-hours calendar
(Mon–Fri 09:00–14:00 and 15:00–17:00 Europe/Madrid, Catalan holidays), ours against the
`businesstimedelta` package on the same cases. Prints JSON.

    .venv/bin/python bench/sla.py [--calls 100000]

Target (issue #5): at least 100 times faster. The answers are compared too (they should all agree).
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import businesstimedelta  # noqa: E402
import holidays  # noqa: E402
import pytz  # noqa: E402

from helpdesk.sla import BusinessCalendar  # noqa: E402

YEARS = range(2025, 2029)


def cases(count: int, rng: random.Random) -> list[tuple[str, datetime, object]]:
    zone = pytz.timezone("Europe/Madrid")
    made = []
    for _ in range(count):
        start = zone.localize(datetime(2026, 1, 1) + timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)))
        if rng.random() < 0.5:
            made.append(("add", start, timedelta(minutes=rng.randrange(1, 60 * 60))))
        else:
            made.append(("elapsed", start, start + timedelta(minutes=rng.randrange(1, 90 * 24 * 60))))
    return made


def ours(calendar: BusinessCalendar, work: list) -> tuple[float, list]:
    results = []
    began = time.perf_counter()
    for kind, start, other in work:
        results.append(calendar.add(start, other) if kind == "add" else calendar.elapsed(start, other))
    return time.perf_counter() - began, results


def theirs(rules, work: list) -> tuple[float, list]:
    results = []
    began = time.perf_counter()
    for kind, start, other in work:
        if kind == "add":
            results.append(start + businesstimedelta.BusinessTimeDelta(rules, seconds=int(other.total_seconds())))
        else:
            delta = rules.difference(start, other)
            results.append(timedelta(hours=delta.hours, seconds=delta.seconds))
    return time.perf_counter() - began, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    arguments = parser.parse_args()
    catalan = holidays.country_holidays("ES", subdiv="CT", years=YEARS, language="ca")
    hours = {day: [(clock(9), clock(14)), (clock(15), clock(17))] for day in range(5)}
    calendar = BusinessCalendar("Europe/Madrid", hours, holidays=catalan.keys())
    zone = pytz.timezone("Europe/Madrid")
    rules = businesstimedelta.Rules([
        businesstimedelta.WorkDayRule(start_time=clock(9), end_time=clock(17), working_days=list(range(5)), tz=zone),
        businesstimedelta.LunchTimeRule(start_time=clock(14), end_time=clock(15), working_days=list(range(5)),
                                        tz=zone),
        businesstimedelta.HolidayRule(catalan, tz=zone),
    ])
    work = cases(arguments.calls, random.Random(311))
    calendar.add(work[0][1], timedelta(hours=1))  # lay out the years once, as a long-running process has
    our_seconds, our_results = ours(calendar, work)
    their_seconds, their_results = theirs(rules, work)
    agree = sum(1 for a, b in zip(our_results, their_results, strict=True) if a == b)
    print(json.dumps({
        "benchmark": "sla",
        "calls": len(work),
        "ours_seconds": round(our_seconds, 3),
        "ours_microseconds_per_call": round(our_seconds / len(work) * 1e6, 2),
        "businesstimedelta_seconds": round(their_seconds, 3),
        "businesstimedelta_microseconds_per_call": round(their_seconds / len(work) * 1e6, 2),
        "speedup": round(their_seconds / our_seconds, 1),
        "same_answer": agree,
    }, indent=2))


if __name__ == "__main__":
    main()
