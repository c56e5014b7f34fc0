"""Each event the desk announces reaches a loopback receiver, signed, with the record as the API shows it and
the actor; a change rolled back sends nothing; a paused subscription or one that did not choose the event
gets nothing."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import func, select

from helpdesk.accompaniment import services as accompaniment
from helpdesk.api import representations
from helpdesk.auth.models import Role
from helpdesk.catalog import jobs as catalog_jobs
from helpdesk.catalog import services as catalog
from helpdesk.catalog.models import CatalogCall
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.instances.health import Probe
from helpdesk.tickets.outages import monitor
from helpdesk.tickets.services import TicketChanges, TicketData, add_message, change_status, open_ticket, update_ticket
from helpdesk.tickets.states import Channel, MessageKind, Priority, TicketStatus
from helpdesk.webhooks import services
from helpdesk.webhooks.jobs import deliver_due
from helpdesk.webhooks.models import WebhookDelivery
from tests import factories
from tests.accompaniment.test_services import asked, session_data
from tests.catalog.test_services import decided, filed

T0 = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)  # a Monday


def deliveries() -> int:
    return db.session.scalar(select(func.count(WebhookDelivery.id)))


def taken(receiver, event):
    return [item for item in receiver.taken if item.event == event]


def test_ticket_and_message_events_carry_the_record_and_the_actor(app, subscription, receiver, admin):
    agent = factories.user(Role.AGENT)
    ticket = factories.ticket(subject="No podem publicar el procés", of=factories.council(), actor=agent)
    update_ticket(agent, ticket, TicketChanges(subject=ticket.subject, status=ticket.status, priority=Priority.HIGH,
                                               category=ticket.category, council_id=ticket.council_id,
                                               instance_id=ticket.instance_id, assignee_id=agent.id), utcnow())
    db.session.commit()
    add_message(agent, ticket, MessageKind.REPLY, "Ho mirem ara mateix.", utcnow())  # and it opens the ticket
    db.session.commit()
    assert deliver_due().delivered == 4

    [created] = taken(receiver, "ticket.created")
    assert created.payload["record"]["id"] == ticket.id
    assert created.payload["record"]["subject"] == "No podem publicar el procés"
    assert created.payload["record"]["status"] == "new"
    assert created.payload["actor"] == {"id": agent.id, "name": agent.name}
    assert created.payload["id"] == created.delivery and created.payload["event"] == "ticket.created"
    assert datetime.fromisoformat(created.payload["occurred_at"]).tzinfo is not None
    [updated] = taken(receiver, "ticket.updated")
    assert updated.payload["record"]["priority"] == "high"
    assert updated.payload["record"]["assignee"]["id"] == agent.id
    assert set(updated.payload["changes"]) == {"priority", "assignee_id"}
    [status] = taken(receiver, "ticket.status_changed")
    assert status.payload["changes"] == {"status": {"before": "new", "after": "open"}}
    assert status.payload["record"]["status"] == "open"
    [message] = taken(receiver, "message.added")
    assert message.payload["record"] == {**representations.message(ticket.messages[-1]),
                                         "body_text": message.payload["record"]["body_text"]}
    assert message.payload["record"]["kind"] == "reply" and "Ho mirem ara mateix." in message.payload["record"]["body_text"]
    assert all(item.signed for item in receiver.received)


def test_mail_and_the_monitor_have_no_actor_and_outages_carry_the_instance(app, subscription, receiver):
    app.config["MONITOR_FAILURES"] = 2
    instance = factories.instance(factories.council("Ajuntament de Vic"), url="https://vic.participa311.diba.cat")
    down, up = Probe(False, None, None, "timeout"), Probe(True, 200, 90)
    for minutes, result in ((0, down), (2, down), (4, down), (6, up)):
        monitor(T0 + timedelta(minutes=minutes), {instance.id: result})
    deliver_due()
    [opened] = taken(receiver, "outage.opened")
    assert opened.payload["actor"] is None
    assert opened.payload["record"]["id"] == instance.id and opened.payload["record"]["base_url"] == instance.base_url
    assert opened.payload["outage"]["started_at"].startswith("2026-11-23T09:00")
    assert opened.payload["outage"]["ticket_id"] is not None and opened.payload["outage"]["ended_at"] is None
    [recovered] = taken(receiver, "outage.recovered")
    assert recovered.payload["outage"]["duration_seconds"] == 6 * 60
    assert recovered.payload["outage"]["ticket_id"] == opened.payload["outage"]["ticket_id"]
    [ticket] = taken(receiver, "ticket.created")  # the outage ticket the monitor opened
    assert ticket.payload["record"]["id"] == opened.payload["outage"]["ticket_id"] and ticket.payload["actor"] is None


def test_catalogue_decisions_grants_ending_and_sessions_booked(app, subscription, receiver):
    db.session.add(CatalogCall(year=2026, opens_on=date(2026, 1, 15), closes_on=date(2026, 12, 31)))
    db.session.commit()
    vic = factories.council("Ajuntament de Vic", "08298")
    manager = factories.user(Role.CATALOGUE_MANAGER)
    record = decided(filed(vic, None, now=T0 - timedelta(days=30)), manager, now=T0 - timedelta(days=29))
    other = filed(factories.council(), None, now=T0 - timedelta(days=30), desired_host="participa-altre.diba.cat")
    catalog.start_review(manager, other, T0)
    catalog.refuse(manager, other, "No hi ha projecte associat.", T0)
    db.session.commit()
    record.ends_on = date(2027, 2, 1)
    db.session.commit()
    assert [reminder.days_before for reminder in catalog_jobs.send_reminders(T0)] == [90]
    db.session.commit()
    approver, adviser = factories.user(Role.OTPGL_APPROVER), factories.user(Role.AGENT)
    request = asked(vic, factories.user(Role.COUNCIL_USER, of=vic))
    accompaniment.authorise(approver, request, "Acció ben definida.", T0)
    session = accompaniment.schedule_session(adviser, request, session_data(adviser, start=T0 + timedelta(days=3)), T0)
    db.session.commit()
    deliver_due()

    decisions = {item.payload["record"]["id"]: item.payload for item in taken(receiver, "catalogue_request.decided")}
    assert decisions[record.request_id]["record"]["status"] == "granted"
    assert decisions[record.request_id]["actor"]["id"] == manager.id
    assert decisions[other.id]["record"]["status"] == "refused"
    assert decisions[other.id]["record"]["manager_message"] == "No hi ha projecte associat."
    [expiring] = taken(receiver, "grant.expiring")
    assert expiring.payload["record"]["id"] == record.id and expiring.payload["record"]["ends_on"] == "2027-02-01"
    assert expiring.payload["days_before"] == 90 and expiring.payload["actor"] is None
    [booked] = taken(receiver, "session.booked")
    assert booked.payload["record"]["id"] == session.id and booked.payload["record"]["request_id"] == request.id
    assert booked.payload["record"]["adviser"]["id"] == adviser.id and booked.payload["actor"]["id"] == adviser.id


def test_nothing_is_sent_for_a_change_rolled_back(app, subscription, receiver):
    agent = factories.user(Role.AGENT)
    ticket = factories.ticket(subject="Aquest sí")
    change_status(agent, ticket, TicketStatus.OPEN, utcnow())
    add_message(agent, ticket, MessageKind.NOTE, "Una nota que no quedarà.", utcnow())
    open_ticket(agent, TicketData(subject="Aquest no", body="Mai obert.", channel=Channel.PHONE), utcnow())
    db.session.flush()
    db.session.rollback()  # as a view does when something after the change fails
    deliver_due()
    assert [(item.event, item.payload["record"]["subject"]) for item in receiver.received] == [
        ("ticket.created", "Aquest sí")]


def test_only_active_subscriptions_that_chose_the_event_get_it(app, subscription, receiver, admin):
    only_messages, _ = services.create_subscription(admin, services.SubscriptionData(
        url=receiver.url + "/messages", events=["message.added"]), utcnow())
    services.pause(admin, subscription, utcnow())
    db.session.commit()
    factories.ticket()
    assert deliveries() == 0  # the paused one wrote nothing, the other did not choose it
    services.resume(admin, subscription, utcnow())
    db.session.commit()
    factories.ticket()
    assert deliveries() == 1 and only_messages.id not in db.session.scalars(select(WebhookDelivery.subscription_id))
