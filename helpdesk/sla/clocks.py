"""One SLA clock, computed from scratch: pure functions of the calendar, the target, the pauses and now.

A clock runs from ``started_at``; pauses (the ticket waiting on the council) do not count; it stops
when the goal is reached (first public response, resolution). The due time is the instant at which the
business time used reaches the target; with an open pause it is not known yet.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Sequence

from helpdesk.sla.calendar import BusinessCalendar

Pause = tuple[datetime, datetime | None]  # [start, end); end None while it lasts


class ClockState(enum.Enum):
    RUNNING = "running"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"  # stopped within the target
    MISSED = "missed"  # stopped after the target


@dataclass(frozen=True)
class Clock:
    target: timedelta
    used: timedelta  # business time counted so far (up to the stop, or now)
    due_at: datetime | None
    warn_at: datetime | None
    state: ClockState

    @property
    def left(self) -> timedelta:
        return self.target - self.used


def reached_at(calendar: BusinessCalendar, started_at: datetime, amount: timedelta,
               pauses: Sequence[Pause]) -> datetime | None:
    """The instant at which ``amount`` of unpaused business time has passed since ``started_at``;
    None when an open pause comes first."""
    remaining, cursor = amount, started_at
    for pause_start, pause_end in sorted(pauses, key=lambda pause: pause[0]):
        if pause_end is not None and pause_end <= cursor:
            continue
        if pause_start > cursor:
            available = calendar.elapsed(cursor, pause_start)
            if available >= remaining:
                return calendar.add(cursor, remaining)
            remaining -= available
        if pause_end is None:
            return None
        cursor = max(cursor, pause_end)
    return calendar.add(cursor, remaining)


def used_until(calendar: BusinessCalendar, started_at: datetime, until: datetime,
               pauses: Sequence[Pause]) -> timedelta:
    """Business time between ``started_at`` and ``until`` outside the pauses."""
    total = calendar.elapsed(started_at, until)
    for pause_start, pause_end in pauses:
        start, end = max(pause_start, started_at), min(pause_end or until, until)
        if end > start:
            total -= calendar.elapsed(start, end)
    return total


def clock(calendar: BusinessCalendar, started_at: datetime, target: timedelta, pauses: Sequence[Pause],
          now: datetime, stopped_at: datetime | None = None, warn_share: float = 0.75) -> Clock:
    """The clock's state at ``now``."""
    until = stopped_at if stopped_at is not None and stopped_at <= now else now
    used = used_until(calendar, started_at, until, pauses)
    due_at = reached_at(calendar, started_at, target, pauses)
    warn_at = reached_at(calendar, started_at, target * warn_share, pauses)
    if stopped_at is not None and stopped_at <= now:
        state = ClockState.MET if used <= target else ClockState.MISSED
    elif used > target or (due_at is not None and now > due_at):
        state = ClockState.BREACHED
    elif any(end is None or end > now >= start for start, end in pauses if start <= now):
        state = ClockState.PAUSED
    elif warn_at is not None and now >= warn_at:
        state = ClockState.AT_RISK
    else:
        state = ClockState.RUNNING
    return Clock(target=target, used=used, due_at=due_at, warn_at=warn_at, state=state)
