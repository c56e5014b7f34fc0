"""SLA clocks on tickets, with an injected `now`: policies, pauses, reopening, recalculation, the job."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.core.audit import trail
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from helpdesk.sla.models import SlaPolicy
from helpdesk.sla.services import PolicyData, save_policy
from helpdesk.tickets.clocks import clocks
from helpdesk.tickets.jobs import check_sla
from helpdesk.tickets.services import TicketChanges, TicketData, add_message, change_status, open_ticket, update_ticket
from helpdesk.tickets.states import Category, Channel, MessageKind, Priority, TicketStatus
from tests import factories

MADRID = ZoneInfo("Europe/Madrid")


def at(day, hour, minute=0):
    """A time in the week of Monday 23 November 2026, Barcelona time."""
    return datetime(2026, 11, day, hour, minute, tzinfo=MADRID)


@pytest.fixture
def agent(app):
    return factories.user(Role.AGENT, email="agent@example.org")


def incident(now, **fields):
    ticket = open_ticket(None, TicketData(subject="Error 500", body="Falla", channel=Channel.EMAIL,
                                          category=fields.pop("category", Category.INCIDENT), **fields), now)
    db.session.commit()
    return ticket


def test_an_incident_gets_two_hours_to_answer_and_fourteen_to_solve_in_support_hours(agent):
    ticket = incident(at(23, 9))
    assert ticket.sla_policy.name == "Incidència tècnica"
    assert ticket.first_response_due_at == at(23, 11)
    assert ticket.resolution_due_at == at(24, 17)
    assert ticket.next_due_at == at(23, 11)


def test_an_outage_runs_24x7(agent):
    ticket = incident(at(28, 23), category=Category.OUTAGE)  # Saturday night
    assert ticket.first_response_due_at == at(28, 23, 30)
    assert ticket.resolution_due_at == at(29, 3)


def test_first_reply_stops_the_first_response_clock(agent):
    ticket = incident(at(23, 9))
    add_message(agent, ticket, MessageKind.REPLY, "Ho mirem", at(23, 10))
    assert ticket.first_response_due_at is None and ticket.first_response_business_seconds == 3600
    assert clocks(ticket, at(23, 12)).first_response.state.value == "met"


def test_waiting_on_the_council_moves_the_due_times_by_the_paused_business_time(agent):
    ticket = incident(at(23, 9))
    add_message(agent, ticket, MessageKind.REPLY, "Ens envieu una captura?", at(23, 10),
                new_status=TicketStatus.PENDING)
    assert ticket.resolution_due_at is None  # paused: not known yet
    referent = factories.user(Role.COUNCIL_USER, of=factories.council())
    ticket.council_id = referent.council_id
    db.session.flush()
    add_message(referent, ticket, MessageKind.INBOUND, "Aquí la teniu", at(24, 9, 30))  # reopens
    # Paused Monday 10:00 to Tuesday 9:30, 6 h 30 of business time: Tuesday 17:00 becomes Wednesday 16:30.
    assert ticket.status is TicketStatus.OPEN
    assert ticket.resolution_due_at == at(25, 16, 30)
    events = [event for event in trail(ticket) if event.action == "clock"]
    assert events[0].changes["resolution_due_at"]["after"].startswith("2026-11-25T15:30")


def test_resolving_stops_and_reopening_continues_the_resolution_clock(agent):
    ticket = incident(at(23, 9))
    change_status(agent, ticket, TicketStatus.RESOLVED, at(23, 12))
    assert ticket.resolution_due_at is None and ticket.resolution_business_seconds == 3 * 3600
    change_status(agent, ticket, TicketStatus.OPEN, at(24, 9))
    # 11 business hours remain, from Tuesday 9:00: Tuesday 7 h, then Wednesday 9:00 + 4 h.
    assert ticket.resolution_due_at == at(25, 13) and ticket.resolution_business_seconds is None


def test_changing_the_category_recomputes_with_the_new_policy(agent):
    ticket = incident(at(23, 9))
    update_ticket(agent, ticket, TicketChanges(subject=ticket.subject, status=ticket.status, priority=ticket.priority,
                                               category=Category.USAGE, council_id=None, instance_id=None,
                                               assignee_id=None), at(23, 9, 30))
    assert ticket.sla_policy.name == "Consulta d'ús"
    assert ticket.first_response_due_at == at(23, 17)


def test_editing_a_policy_recomputes_open_tickets(agent):
    ticket = incident(at(23, 9))
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.category == "incident"))
    save_policy(None, PolicyData(policy.name, "incident", None, policy.calendar_id, 60, 14 * 60), policy)
    assert ticket.first_response_due_at == at(23, 10)


def test_a_more_specific_policy_wins(agent):
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.category == "incident"))
    save_policy(None, PolicyData("Incidència urgent", "incident", "urgent", policy.calendar_id, 30, 4 * 60))
    ticket = incident(at(23, 9), priority=Priority.URGENT)
    assert ticket.sla_policy.name == "Incidència urgent" and ticket.first_response_due_at == at(23, 9, 30)


def outbox_subjects():
    return [message.subject for message in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))]


def test_the_job_warns_and_reports_breaches_once_each_to_the_assignee(agent):
    ticket = incident(at(23, 9))
    ticket.assignee_id = agent.id
    db.session.commit()
    assert check_sla(at(23, 10)) == {"at_risk": 0, "breached": 0}
    assert check_sla(at(23, 10, 31)) == {"at_risk": 1, "breached": 0}
    assert check_sla(at(23, 10, 45)) == {"at_risk": 0, "breached": 0}  # once
    assert check_sla(at(23, 11, 1)) == {"at_risk": 0, "breached": 1}
    assert check_sla(at(23, 11, 30)) == {"at_risk": 0, "breached": 0}
    assert outbox_subjects() == [f"[#{ticket.id}] SLA en risc (primera resposta): Error 500",
                                 f"[#{ticket.id}] SLA incomplert (primera resposta): Error 500"]
    assert {message.to_addresses for message in db.session.scalars(select(OutboxMessage))} == {"agent@example.org"}


def test_unassigned_tickets_warn_the_team_and_breached_outages_escalate_to_technicians(agent):
    factories.user(Role.AGENT, email="other@example.org", language="es")
    factories.user(Role.TECHNICIAN, email="tecnic@example.org")
    ticket = incident(at(23, 9), category=Category.OUTAGE)
    check_sla(at(23, 9, 31))
    recipients = {message.to_addresses for message in db.session.scalars(select(OutboxMessage))}
    assert recipients == {"agent@example.org", "other@example.org", "tecnic@example.org"}
    spanish = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_addresses == "other@example.org"))
    assert spanish.subject == f"[#{ticket.id}] SLA incumplido (primera respuesta): Error 500"


def test_a_warning_falls_within_support_hours(agent):
    ticket = incident(at(23, 16, 30))  # 30 minutes before closing: the warning (at 1 h 30) comes on Tuesday
    assert ticket.first_response_warn_at == at(24, 10)
    assert check_sla(at(23, 23)) == {"at_risk": 0, "breached": 0}  # nothing at night
    assert check_sla(at(24, 10)) == {"at_risk": 1, "breached": 0}


def test_the_inbox_shows_time_left_and_lists_tickets_at_risk(agent, client):
    from helpdesk.tickets import inbox
    from helpdesk.tickets.clocks import deadlines
    safe = incident(at(23, 9), category=Category.USAGE)  # 7 h to answer
    risky = incident(at(23, 9))  # 2 h to answer: at risk from 10:30
    now = at(23, 10, 45)
    view = list(db.session.scalars(inbox.statement(inbox.InboxQuery(view="at_risk"), agent, now=now)))
    assert view == [risky]
    shown = deadlines([safe, risky], now)
    assert (shown[risky.id].state, shown[risky.id].minutes_left) == ("at_risk", 15)
    assert (shown[safe.id].state, shown[safe.id].minutes_left) == ("running", 5 * 60 + 15)  # lunch excluded
    by_due = list(db.session.scalars(inbox.statement(inbox.InboxQuery(view="open", sort="due"), agent, now=now)))
    assert by_due == [risky, safe]
    assert deadlines([risky], at(23, 15, 30))[risky.id].minutes_left == -(3 * 60 + 30)  # 11-14 and 15-15:30
