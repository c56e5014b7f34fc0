"""SLA clocks on tickets: choosing the policy, pausing while waiting on the council, due times,
and warning of one ticket at risk or breached (each notice once; the job in jobs.py walks the tickets)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from blinker import Namespace
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from helpdesk.auth.models import Role, User
from helpdesk.core import audit
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.sla.clocks import Clock, ClockState, Pause, clock
from helpdesk.sla.models import POLICY_DIMENSIONS, Calendar, SlaPolicy
from helpdesk.sla.services import business_calendar, choose_policy, targets_changed
from helpdesk.tickets import mailing
from helpdesk.tickets.models import Ticket, TicketPause
from helpdesk.tickets.states import ACTIVE_STATUSES, LABELS, Category, Priority, TicketStatus

POLICY_DIMENSIONS["category"].update({item.value: label for item, label in LABELS[Category].items()})
POLICY_DIMENSIONS["priority"].update({item.value: label for item, label in LABELS[Priority].items()})

CLOCKED = ("sla_policy_id", "first_response_due_at", "resolution_due_at")
#: Sent once a ticket's clock is marked at risk or breached (sender: the ticket; clock, event, now):
#: notifications listen.
sla_announced = Namespace().signal("sla-announced")


@dataclass(frozen=True)
class TicketClocks:
    first_response: Clock | None
    resolution: Clock | None


def _pauses(ticket: Ticket, reasons: tuple[str, ...]) -> list[Pause]:
    return [(pause.started_at, pause.ended_at) for pause in ticket.pauses if pause.reason in reasons]


def warn_share() -> float:
    return current_app.config["SLA_WARNING_PERCENT"] / 100


def clocks(ticket: Ticket, now: datetime) -> TicketClocks:
    """Both clocks of a ticket at ``now`` (None without a policy)."""
    policy = ticket.sla_policy
    if policy is None:
        return TicketClocks(None, None)
    calendar = business_calendar(policy.calendar)
    first = clock(calendar, ticket.created_at, timedelta(seconds=ticket.first_response_target_seconds),
                  _pauses(ticket, ("pending",)), now, stopped_at=ticket.first_response_at, warn_share=warn_share())
    resolved_at = ticket.resolved_at if ticket.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED) else None
    if ticket.status is TicketStatus.CLOSED and resolved_at is None:
        resolved_at = ticket.closed_at
    resolution = clock(calendar, ticket.created_at, timedelta(seconds=ticket.resolution_target_seconds),
                       _pauses(ticket, ("pending", "resolved")), now, stopped_at=resolved_at,
                       warn_share=warn_share())
    return TicketClocks(first, resolution)


def recompute(ticket: Ticket, now: datetime, actor: User | None = None, *, choose: bool = True) -> None:
    """Choose the ticket's policy (unless told not to) and set its due times as of ``now``; a change of
    due times is an audit event, and notices already sent count again only if the new times are later."""
    before = audit.snapshot(ticket, CLOCKED)
    if choose or ticket.sla_policy is None:
        policy = choose_policy(ticket.category.value, ticket.priority.value)
        ticket.sla_policy = policy
        if policy is not None:
            ticket.first_response_target_seconds = policy.first_response_minutes * 60
            ticket.resolution_target_seconds = policy.resolution_minutes * 60
    if ticket.sla_policy is None:
        return
    state = clocks(ticket, now)
    first, resolution = state.first_response, state.resolution
    running_first = first.state not in (ClockState.MET, ClockState.MISSED)
    running_resolution = resolution.state not in (ClockState.MET, ClockState.MISSED)
    ticket.first_response_due_at = first.due_at if running_first else None
    ticket.first_response_warn_at = first.warn_at if running_first else None
    ticket.first_response_business_seconds = None if running_first else int(first.used.total_seconds())
    ticket.resolution_due_at = resolution.due_at if running_resolution else None
    ticket.resolution_warn_at = resolution.warn_at if running_resolution else None
    ticket.resolution_business_seconds = None if running_resolution else int(resolution.used.total_seconds())
    for name in ("first_response", "resolution"):
        warn, due = getattr(ticket, f"{name}_warn_at"), getattr(ticket, f"{name}_due_at")
        if warn is not None and warn > now:
            setattr(ticket, f"{name}_warned_at", None)
        if due is not None and due > now:
            setattr(ticket, f"{name}_breached_at", None)
    dues = [value for value in (ticket.first_response_due_at, ticket.resolution_due_at) if value is not None]
    warns = [value for value in (ticket.first_response_warn_at, ticket.resolution_warn_at) if value is not None]
    ticket.next_due_at, ticket.next_warn_at = min(dues, default=None), min(warns, default=None)
    changes = audit.diff(before, audit.snapshot(ticket, CLOCKED))
    if changes and ticket.id is not None:
        audit.record(actor, "clock", ticket, changes)


def status_changed(ticket: Ticket, before: TicketStatus, after: TicketStatus, now: datetime,
                   actor: User | None) -> None:
    """Open or close the pauses that a status change means, then recompute the due times."""
    reasons_ending = {"pending"} if before is TicketStatus.PENDING else set()
    if before in (TicketStatus.RESOLVED, TicketStatus.CLOSED) and after in ACTIVE_STATUSES:
        reasons_ending.add("resolved")  # reopened: the resolution clock goes on from where it stopped
    for pause in ticket.pauses:
        if pause.ended_at is None and pause.reason in reasons_ending:
            pause.ended_at = now
    if after is TicketStatus.PENDING:
        ticket.pauses.append(TicketPause(reason="pending", started_at=now))
    if after is TicketStatus.RESOLVED and before is not TicketStatus.RESOLVED:
        ticket.pauses.append(TicketPause(reason="resolved", started_at=now))
    recompute(ticket, now, actor, choose=False)


@targets_changed.connect
def _targets_changed(sender, **_) -> None:
    """A calendar or policy changed: the open tickets' due times follow, in the same transaction."""
    now = utcnow()
    for ticket in db.session.scalars(select(Ticket).where(Ticket.status.in_(ACTIVE_STATUSES))):
        recompute(ticket, now)


# --- warnings and breaches, one ticket at a time (the job that finds them is in jobs.py) ---------------

def announce_sla(ticket: Ticket, clock_name: str, now: datetime) -> str | None:
    """Mark one ticket's clock ("first_response" or "resolution") at risk or breached, once, and tell the
    agents (for an outage's breach the technicians too); the event, or None when there is none (left)."""
    if ticket.status not in ACTIVE_STATUSES or (clock_name == "first_response" and ticket.first_response_at):
        return None
    due_at, warn_at = getattr(ticket, f"{clock_name}_due_at"), getattr(ticket, f"{clock_name}_warn_at")
    warned_at, breached_at = getattr(ticket, f"{clock_name}_warned_at"), getattr(ticket, f"{clock_name}_breached_at")
    if due_at is not None and due_at < now and breached_at is None:
        event, unset = "breached", getattr(Ticket, f"{clock_name}_breached_at")
        values = {f"{clock_name}_breached_at": now, f"{clock_name}_warned_at": warned_at or now}
    elif warn_at is not None and warn_at <= now and warned_at is None:
        event, unset = "at_risk", getattr(Ticket, f"{clock_name}_warned_at")
        values = {f"{clock_name}_warned_at": now}
    else:
        return None
    # A plain UPDATE: this bookkeeping must not make an agent's open form look stale; and of two runs
    # racing for the ticket only one gets the row, so the notice goes out once.
    claimed = db.session.execute(update(Ticket).where(Ticket.id == ticket.id, unset.is_(None)).values(**values)
                                 .execution_options(synchronize_session=False))
    if not claimed.rowcount:
        return None
    audit.record(None, f"sla_{event}", ticket, {"clock": {"before": None, "after": clock_name}})
    _notify(ticket, clock_name, event)
    sla_announced.send(ticket, clock=clock_name, event=event, now=now)
    return event


def _notify(ticket: Ticket, clock_name: str, event: str) -> None:
    recipients = [ticket.assignee] if ticket.assignee and ticket.assignee.is_active else list(
        db.session.scalars(select(User).where(User.role == Role.AGENT, User.is_active)))
    if event == "breached" and ticket.category is Category.OUTAGE:
        recipients += list(db.session.scalars(select(User).where(User.role == Role.TECHNICIAN, User.is_active)))
    mailing.tell_sla(ticket, clock_name, event == "breached", [user.email for user in recipients])


# --- what the inbox shows -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Deadline:
    state: str  # running, at_risk, breached or paused
    due_at: datetime | None
    minutes_left: int | None  # business minutes; negative once overdue


def deadlines(tickets: list[Ticket], now: datetime) -> dict[int, Deadline]:
    """The nearest deadline of each active ticket with a policy, with the business time left."""
    policy_ids = {ticket.sla_policy_id for ticket in tickets if ticket.sla_policy_id}
    calendars = {policy.id: business_calendar(policy.calendar) for policy in db.session.scalars(
        select(SlaPolicy).where(SlaPolicy.id.in_(policy_ids)).options(
            selectinload(SlaPolicy.calendar).selectinload(Calendar.intervals),
            selectinload(SlaPolicy.calendar).selectinload(Calendar.holidays)))}
    found = {}
    for ticket in tickets:
        if ticket.status not in ACTIVE_STATUSES or ticket.sla_policy_id not in calendars:
            continue
        due = ticket.next_due_at
        if due is None:
            if ticket.status is TicketStatus.PENDING:
                found[ticket.id] = Deadline("paused", None, None)
            continue
        calendar = calendars[ticket.sla_policy_id]
        if now > due:
            left = -int(calendar.elapsed(due, now).total_seconds() // 60)
            found[ticket.id] = Deadline("breached", due, left)
        else:
            left = int(calendar.elapsed(now, due).total_seconds() // 60)
            state = "at_risk" if ticket.next_warn_at is not None and ticket.next_warn_at <= now else "running"
            found[ticket.id] = Deadline(state, due, left)
    return found
