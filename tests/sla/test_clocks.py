"""One clock at a time: pauses, stops and states, with the support-hours calendar."""
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from helpdesk.sla import BusinessCalendar
from helpdesk.sla.clocks import ClockState, clock, reached_at

MADRID = ZoneInfo("Europe/Madrid")
CALENDAR = BusinessCalendar("Europe/Madrid", {day: [(time(9), time(14)), (time(15), time(17))] for day in range(5)})
MONDAY_9 = datetime(2026, 11, 23, 9, tzinfo=MADRID)
TWO_HOURS = timedelta(hours=2)


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=MADRID)


def test_a_running_clock_warns_at_75_percent_and_breaches_after_the_target():
    assert clock(CALENDAR, MONDAY_9, TWO_HOURS, [], at(23, 10)).state is ClockState.RUNNING
    warned = clock(CALENDAR, MONDAY_9, TWO_HOURS, [], at(23, 10, 30))
    assert warned.state is ClockState.AT_RISK and warned.warn_at == at(23, 10, 30)
    assert clock(CALENDAR, MONDAY_9, TWO_HOURS, [], at(23, 11)).state is ClockState.AT_RISK  # due, not yet past
    late = clock(CALENDAR, MONDAY_9, TWO_HOURS, [], at(23, 11, 1))
    assert late.state is ClockState.BREACHED and late.due_at == at(23, 11)


def test_a_pause_moves_the_due_time_by_exactly_the_paused_business_time():
    # Waiting on the council from 10:00 to 15:30: 4 business hours (10–14) plus 30 minutes.
    pauses = [(at(23, 10), at(23, 15, 30))]
    assert reached_at(CALENDAR, MONDAY_9, TWO_HOURS, pauses) == at(23, 16, 30)
    paused = clock(CALENDAR, MONDAY_9, TWO_HOURS, [(at(23, 10), None)], at(23, 12))
    assert paused.state is ClockState.PAUSED and paused.due_at is None
    assert paused.used == timedelta(hours=1)


def test_a_pause_after_the_deadline_does_not_undo_the_breach():
    pauses = [(at(23, 12), at(24, 9))]
    result = clock(CALENDAR, MONDAY_9, TWO_HOURS, pauses, at(24, 10))
    assert result.due_at == at(23, 11) and result.state is ClockState.BREACHED


def test_a_stopped_clock_is_met_or_missed():
    assert clock(CALENDAR, MONDAY_9, TWO_HOURS, [], at(24, 9), stopped_at=at(23, 10, 59)).state is ClockState.MET
    missed = clock(CALENDAR, MONDAY_9, TWO_HOURS, [], at(24, 9), stopped_at=at(23, 15, 30))
    assert missed.state is ClockState.MISSED and missed.used == timedelta(hours=5, minutes=30)


def test_overnight_and_weekend_do_not_count():
    friday_16 = datetime(2026, 11, 27, 16, tzinfo=MADRID)
    result = clock(CALENDAR, friday_16, TWO_HOURS, [], datetime(2026, 11, 29, 12, tzinfo=MADRID))
    assert result.state is ClockState.RUNNING and result.used == timedelta(hours=1)
    assert result.warn_at == at(30, 9, 30) and result.due_at == at(30, 10)
