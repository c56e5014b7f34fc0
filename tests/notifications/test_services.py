"""Who is told of what: each kind reaches the right person and never the one who acted, in the transaction of
the change; e-mail only for the kinds a person chose, in their language; mentions by handle."""
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from helpdesk.instances.health import Probe
from helpdesk.notifications import services
from helpdesk.notifications.models import Notification, NotificationKind
from helpdesk.tickets.jobs import check_sla
from helpdesk.tickets.outages import monitor
from helpdesk.tickets.services import (MailMessage, TicketChanges, TicketData, add_message, assign, assign_to_me,
                                       open_ticket, receive_mail, received, update_ticket)
from helpdesk.tickets.states import Category, Channel, MessageKind
from tests import factories

MADRID = ZoneInfo("Europe/Madrid")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=MADRID)  # a Monday, at opening time


@pytest.fixture
def marta(app):
    return factories.user(Role.AGENT, email="marta.puig@diba.cat", language="ca")


@pytest.fixture
def jordi(app):
    return factories.user(Role.AGENT, email="jordi.serra@diba.cat", language="es")


@pytest.fixture
def vic(app):
    return factories.council(name="Ajuntament de Vic", domains=["vic.cat"])


def ticket_of(vic, **fields):
    ticket = open_ticket(None, TicketData(subject="El logotip no surt", body="Bon dia", channel=Channel.EMAIL,
                                          council_id=vic.id, requester_email="referent@vic.cat",
                                          category=fields.pop("category", Category.INCIDENT), **fields), NOW)
    db.session.commit()
    return ticket


def notifications_of(user):
    return list(db.session.scalars(select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def kinds_of(user):
    return [item.kind for item in notifications_of(user)]


def mail_to(address):
    return [item for item in db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if address in item.to_addresses]


def choose_email(user, *kinds):
    services.save_preferences(user, set(kinds))
    db.session.commit()


# --- assigned to me ---------------------------------------------------------------------------------------

def test_assigning_a_ticket_tells_the_new_assignee_and_not_the_one_who_assigned(marta, jordi, vic):
    ticket = ticket_of(vic)
    assign(marta, ticket, jordi.id, NOW)
    db.session.commit()
    [notification] = notifications_of(jordi)
    assert notification.kind is NotificationKind.ASSIGNED and notification.actor_id == marta.id
    assert notification.ticket_id == ticket.id and notification.url == f"/tickets/{ticket.id}"
    assert notification.summary == "El logotip no surt" and notification.read_at is None
    assert notifications_of(marta) == []
    with_english = notification.title
    from flask_babel import force_locale
    with force_locale("en"):
        assert with_english() == f"agent user assigned #{ticket.id} to you"


def test_the_ticket_form_and_taking_a_ticket_notify_only_someone_else(marta, jordi, vic):
    ticket = ticket_of(vic)
    assign_to_me(marta, ticket.id, NOW)  # my own action: nothing for me
    db.session.commit()
    assert notifications_of(marta) == []
    update_ticket(marta, ticket, TicketChanges(subject=ticket.subject, status=ticket.status,
                                               priority=ticket.priority, category=ticket.category,
                                               council_id=vic.id, instance_id=None, assignee_id=jordi.id,
                                               requester_email="referent@vic.cat"), NOW)
    db.session.commit()
    assert kinds_of(jordi) == [NotificationKind.ASSIGNED] and notifications_of(marta) == []


def test_a_change_that_is_rolled_back_leaves_no_notification(marta, jordi, vic):
    ticket = ticket_of(vic)
    assign(marta, ticket, jordi.id, NOW)
    db.session.rollback()
    assert notifications_of(jordi) == []


# --- the council answered ---------------------------------------------------------------------------------

def test_the_councils_answer_by_the_web_and_by_mail_tells_the_assignee(marta, jordi, vic):
    ticket = ticket_of(vic)
    assign(marta, ticket, jordi.id, NOW)
    referent = factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    message = add_message(referent, ticket, MessageKind.INBOUND, "Ja surt, gràcies!", NOW + timedelta(hours=1))
    mailed = receive_mail(ticket, MailMessage(kind=MessageKind.INBOUND, body_text="Una cosa més: el favicon."),
                          NOW + timedelta(hours=2))
    db.session.flush()
    received(ticket, mailed)
    db.session.commit()
    assert kinds_of(jordi) == [NotificationKind.ASSIGNED, NotificationKind.COUNCIL_REPLIED,
                               NotificationKind.COUNCIL_REPLIED]
    web, mail = notifications_of(jordi)[1:]
    assert web.url == f"/tickets/{ticket.id}#message-{message.id}" and web.summary == "Ja surt, gràcies!"
    assert mail.actor_id is None and mail.summary == "Una cosa més: el favicon."
    assert notifications_of(marta) == [] and notifications_of(referent) == []


def test_a_machines_mail_and_an_unassigned_ticket_tell_nobody(marta, vic):
    ticket = ticket_of(vic)
    bounce = receive_mail(ticket, MailMessage(kind=MessageKind.AUTO_REPLY, body_text="Fora de l'oficina"), NOW)
    db.session.flush()
    received(ticket, bounce)
    db.session.commit()
    assert db.session.scalars(select(Notification)).all() == []


# --- mentions ---------------------------------------------------------------------------------------------

def test_a_note_mentioning_a_handle_tells_that_person_once(marta, jordi, vic):
    ticket = ticket_of(vic)
    note = add_message(marta, ticket, MessageKind.NOTE, "@jordi.serra, pots mirar-ho? Gràcies @jordi.serra.", NOW)
    db.session.commit()
    [notification] = notifications_of(jordi)
    assert notification.kind is NotificationKind.MENTIONED and notification.actor_id == marta.id
    assert notification.url == f"/tickets/{ticket.id}#message-{note.id}"


def test_mentioning_oneself_an_address_or_nobody_tells_nobody(marta, jordi, vic):
    ticket = ticket_of(vic)
    add_message(marta, ticket, MessageKind.NOTE, "Apunt per a mi, @marta.puig. Escriu a jordi.serra@diba.cat "
                                                 "o a @ningu.", NOW)
    add_message(marta, ticket, MessageKind.REPLY, "Bon dia @jordi.serra", NOW)  # replies mention nobody
    db.session.commit()
    assert db.session.scalars(select(Notification)).all() == []


def test_a_shared_handle_becomes_the_whole_address_so_it_is_never_ambiguous(marta, vic):
    ana_diba = factories.user(Role.AGENT, email="ana@diba.cat")
    ana_extern = factories.user(Role.TECHNICIAN, email="ana@extern.cat")
    factories.user(Role.COUNCIL_USER, of=vic, email="ana@vic.cat")  # not staff: never a handle
    handles = services.handles()
    assert handles["ana@diba.cat"].id == ana_diba.id and handles["ana@extern.cat"].id == ana_extern.id
    assert "ana" not in handles and handles["marta.puig"].id == marta.id
    ticket = ticket_of(vic)
    add_message(marta, ticket, MessageKind.NOTE, "@ana no és ningú; @ana@extern.cat sí.", NOW)
    db.session.commit()
    assert kinds_of(ana_extern) == [NotificationKind.MENTIONED] and notifications_of(ana_diba) == []


def test_completion_offers_active_staff_by_name_or_handle(marta, jordi, vic):
    factories.user(Role.COUNCIL_USER, of=vic, email="jordina@vic.cat")
    inactive = factories.user(Role.AGENT, email="jordan@diba.cat")
    inactive.is_active = False
    db.session.commit()
    assert [item["handle"] for item in services.people("jord")] == ["jordi.serra"]
    assert {item["handle"] for item in services.people("")} == {"marta.puig", "jordi.serra"}


# --- SLA and outages --------------------------------------------------------------------------------------

def test_an_sla_warning_and_breach_tell_the_assignee_and_only_the_desks_own_email_goes(marta, jordi, vic):
    ticket = ticket_of(vic)
    assign(marta, ticket, jordi.id, NOW)
    db.session.commit()
    choose_email(jordi, NotificationKind.SLA_AT_RISK, NotificationKind.SLA_BREACHED)
    check_sla(NOW + timedelta(hours=1, minutes=31))
    check_sla(NOW + timedelta(hours=2, minutes=1))
    at_risk, breached = notifications_of(jordi)[1:]
    assert (at_risk.kind, at_risk.detail) == (NotificationKind.SLA_AT_RISK, "first_response")
    assert breached.kind is NotificationKind.SLA_BREACHED
    assert len(mail_to("jordi.serra@diba.cat")) == 2  # the tickets domain's two, not four
    assert notifications_of(marta) == []


def test_an_outage_tells_technicians_and_agents(app, marta, jordi):
    technician = factories.user(Role.TECHNICIAN, email="tecnic@diba.cat")
    manager = factories.user(Role.CATALOGUE_MANAGER, email="cataleg@diba.cat")
    instance = factories.instance(factories.council("Ajuntament de Berga"), url="https://berga.participa311.diba.cat")
    start = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
    for minute in range(0, 10, 2):
        monitor(start + timedelta(minutes=minute), {instance.id: Probe(False, None, None, "timeout")})
    for person in (technician, marta, jordi):
        [notification] = notifications_of(person)
        assert notification.kind is NotificationKind.OUTAGE and notification.actor_id is None
    assert notifications_of(manager) == []


# --- e-mail -----------------------------------------------------------------------------------------------

def test_email_goes_only_for_the_chosen_kinds_in_the_persons_language(marta, jordi, vic):
    choose_email(jordi, NotificationKind.ASSIGNED)
    choose_email(marta, NotificationKind.MENTIONED)
    ticket = ticket_of(vic)
    assign(marta, ticket, jordi.id, NOW)
    add_message(jordi, ticket, MessageKind.NOTE, "Ho miro.", NOW)  # no mention: nothing for Marta
    db.session.commit()
    [mail] = mail_to("jordi.serra@diba.cat")
    notification = notifications_of(jordi)[0]
    assert ticket.reference in mail.subject and "El logotip no surt" in mail.body_text
    assert "Hola, agent user:" in mail.body_text and "lunes, 23 de noviembre" in mail.body_text and '<html lang="es">' in mail.body_html  # Jordi reads Spanish
    assert f"/notifications/{notification.id}" in mail.body_text
    assert mail.headers.get("Auto-Submitted") == "auto-generated"
    assert mail_to("marta.puig@diba.cat") == []
    assign(jordi, ticket, marta.id, NOW)  # Marta chose mentions only: the desk tells her, no e-mail
    db.session.commit()
    assert kinds_of(marta) == [NotificationKind.ASSIGNED] and mail_to("marta.puig@diba.cat") == []


# --- reading ----------------------------------------------------------------------------------------------

def test_marking_one_and_all_read_counts_down(marta, jordi, vic):
    for _ in range(3):
        assign(marta, ticket_of(vic), jordi.id, NOW)
    db.session.commit()
    assert services.unread_count(jordi) == 3 and services.unread_count(marta) == 0
    first = notifications_of(jordi)[0]
    services.mark_read(jordi, first, NOW)
    assert services.unread_count(jordi) == 2
    assert services.mark_all_read(jordi, NOW + timedelta(minutes=1)) == 2
    db.session.commit()
    assert services.unread_count(jordi) == 0 and db.session.get(Notification, first.id).read_at is not None
    assert services.find(marta, first.id) is None


def test_watchers_hear_what_the_assignee_hears_and_once_each(app, marta, jordi, vic):
    from helpdesk.tickets.watchers import watch
    ticket = ticket_of(vic)
    assign(marta, ticket, marta.id, NOW)
    watch(jordi, ticket, jordi, NOW)
    watch(marta, ticket, marta, NOW)  # the assignee watching too: still one notification
    db.session.commit()
    add_message(factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat"), ticket, MessageKind.INBOUND,
                "Ja ho hem provat i continua sense sortir.", NOW + timedelta(minutes=5))
    db.session.commit()
    for person in (marta, jordi):
        kinds = [item.kind for item in notifications_of(person)]
        assert kinds.count(NotificationKind.COUNCIL_REPLIED) == 1, person.email
