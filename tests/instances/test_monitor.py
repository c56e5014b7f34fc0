"""The 24x7 monitor: probes against a real loopback server, and the rules — K failures open one outage
ticket on the 24x7 policy, failures are noted, recovery notes the duration, flapping opens nothing new."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from helpdesk.instances.health import Probe, probe
from helpdesk.instances.models import Outage
from helpdesk.tickets.models import Message, Ticket
from helpdesk.tickets.outages import availability, hourly, monitor
from helpdesk.tickets.states import Channel, MessageKind, TicketStatus
from tests import factories
from tests.pages import text

T0 = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)  # a Monday, 4 in the morning in Barcelona
UP, DOWN = Probe(True, 200, 120), Probe(False, None, None, "timeout")


def test_probes_tell_up_from_down(decidim):
    assert probe(decidim.url).up
    decidim.mode = "forced_login"
    assert probe(decidim.url).up  # private, but alive
    decidim.mode = "error500"
    result = probe(decidim.url)
    assert not result.up and result.status_code == 500
    decidim.mode = "slow"
    assert probe(decidim.url, timeout=0.5) == Probe(False, None, None, "timeout")


@pytest.fixture
def instance(app):
    factories.user(Role.TECHNICIAN, email="tecnic@diba.cat")
    return factories.instance(factories.council("Ajuntament de Vic"), url="https://vic.participa311.diba.cat")


def run(instance, results, start=T0, every=timedelta(minutes=2)):
    for index, result in enumerate(results):
        monitor(start + index * every, {instance.id: result})


def outage_tickets():
    return list(db.session.scalars(select(Ticket).where(Ticket.channel == Channel.MONITOR)))


def notes(ticket):
    return [message.body_text for message in db.session.scalars(select(Message).where(
        Message.ticket_id == ticket.id, Message.kind == MessageKind.NOTE).order_by(Message.id))]


def test_three_failures_open_one_outage_ticket_on_the_24x7_policy(app, instance):
    run(instance, [DOWN, DOWN])
    assert outage_tickets() == []
    run(instance, [DOWN] * 10, start=T0 + timedelta(minutes=4))
    [ticket] = outage_tickets()
    assert ticket.category.value == "outage" and ticket.priority.value == "urgent"
    assert ticket.sla_policy.name == "Caiguda" and ticket.instance_id == instance.id
    # 24x7: 30 minutes from 04:04 at night, not from 9 the next morning
    assert ticket.first_response_due_at == T0 + timedelta(minutes=4 + 30)
    assert any("tecnic@diba.cat" in mail.to_addresses for mail in db.session.scalars(select(OutboxMessage)))
    assert instance.health == "down"
    assert db.session.scalar(select(Outage)).started_at == T0  # from the first failed check


def test_failures_are_noted_when_they_change_or_every_half_hour(app, instance):
    run(instance, [DOWN] * 3 + [DOWN] * 16 + [Probe(False, 502, 80, "api: HTTP 502")])
    [ticket] = outage_tickets()
    written = notes(ticket)
    assert written[-1] == "Encara no respon: api: HTTP 502"
    assert len(written) == 2 + 1  # the opening note, one half-hour note, the changed error


def test_recovery_notes_the_duration_and_flapping_reopens_the_same_ticket(app, instance):
    run(instance, [DOWN, DOWN, DOWN, DOWN, UP])
    [ticket] = outage_tickets()
    assert notes(ticket)[-1] == "Torna a respondre. La caiguda ha durat 8 minuts."
    assert instance.health == "up" and ticket.status is not TicketStatus.RESOLVED  # not configured to resolve
    run(instance, [DOWN, DOWN, DOWN], start=T0 + timedelta(minutes=12))
    assert outage_tickets() == [ticket]  # failing again within half an hour: the same ticket
    assert notes(ticket)[-1].startswith("Torna a no respondre")


def test_up_and_down_by_turns_opens_nothing(app, instance):
    run(instance, [DOWN, UP, DOWN, DOWN, UP, DOWN, UP] * 3)
    assert outage_tickets() == []


def test_recovery_resolves_when_configured(app, instance):
    app.config["MONITOR_RESOLVE_ON_RECOVERY"] = True
    run(instance, [DOWN, DOWN, DOWN, UP])
    [ticket] = outage_tickets()
    assert ticket.status is TicketStatus.RESOLVED


def test_availability_and_the_status_page(client, app, instance):
    run(instance, [UP] * 27 + [DOWN] * 3)
    shares = availability(instance, T0 + timedelta(hours=1))
    assert shares["24h"] == pytest.approx(0.9) and shares["30d"] == pytest.approx(0.9)
    assert sum(total for _, total, _ in hourly(instance, T0 + timedelta(hours=1))) == 30
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    page = text(client.get("/instances/status"))
    assert "vic.participa311.diba.cat" in page and "No respon" in page
    [ticket] = outage_tickets()
    card = text(client.get(f"/tickets/{ticket.id}"))  # the instance card on the outage ticket
    assert "No respon" in card and "sense suport" in card  # down, and Decidim 0.28.5 is out of support
