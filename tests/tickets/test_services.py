from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from helpdesk.auth.models import Role
from helpdesk.core.audit import trail
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed, StaleRecord
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Attachment, Message, Ticket
from helpdesk.tickets.services import (CallData, TicketChanges, TicketData, Upload, add_message, assign_to_me,
                                       change_status, delete_message, log_call, merge_tickets, open_ticket,
                                       update_ticket)
from helpdesk.tickets.states import CallDirection, Category, Channel, MessageKind, Priority, TicketStatus
from tests import factories

pytestmark = pytest.mark.usefixtures("english")
NOW = utcnow()


@pytest.fixture
def vic(app):
    council = factories.council(name="Ajuntament de Vic")
    factories.instance(council, url="https://vic.participa311.diba.cat")
    return council


def changes(ticket, **overrides):
    values = dict(subject=ticket.subject, status=ticket.status, priority=ticket.priority, category=ticket.category,
                  council_id=ticket.council_id, instance_id=ticket.instance_id, assignee_id=ticket.assignee_id)
    values.update(overrides)
    return TicketChanges(**values)


def test_a_council_user_opens_a_ticket_for_their_council_on_its_only_instance(vic):
    user = factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    contact = factories.contact(vic, name="Referent", email="referent@vic.cat")
    ticket = open_ticket(user, TicketData(subject="  Dubte   ", body="Com es fa?", channel=Channel.EMAIL,
                                          category=Category.USAGE), NOW)
    assert ticket.subject == "Dubte"
    assert ticket.channel is Channel.WEB and ticket.status is TicketStatus.NEW
    assert ticket.council == vic and ticket.instance.host == "vic.participa311.diba.cat"
    assert ticket.requester_contact == contact and ticket.requester_email == "referent@vic.cat"
    assert ticket.messages[0].kind is MessageKind.INBOUND
    assert [event.action for event in trail(ticket)][-2:] == ["clock", "created"]
    with pytest.raises(NotAllowed):
        open_ticket(user, TicketData(subject="x", body="y", channel=Channel.WEB,
                                     council_id=factories.council().id), NOW)


@pytest.mark.parametrize("subject, body, field, message", [
    ("", "text", "subject", "subject is required"),
    ("x" * 201, "text", "subject", "at most 200"),
    ("Subject", "   ", "body", "Write a message"),
])
def test_empty_or_oversized_fields_are_refused_and_nothing_is_saved(vic, subject, body, field, message):
    with pytest.raises(DomainError) as refused:
        open_ticket(None, TicketData(subject=subject, body=body, channel=Channel.EMAIL), NOW)
    assert refused.value.field == field and message in str(refused.value.message)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Ticket.id))) == 0


def test_an_instance_of_another_council_is_refused(vic):
    other = factories.council(name="Ajuntament de Manresa")
    instance = factories.instance(other)
    with pytest.raises(DomainError, match="is not Ajuntament de Vic's") as refused:
        open_ticket(None, TicketData(subject="s", body="b", channel=Channel.EMAIL, council_id=vic.id,
                                     instance_id=instance.id), NOW)
    assert refused.value.field == "instance_id"


def test_status_table_refuses_what_it_does_not_allow(vic):
    agent = factories.user(Role.AGENT)
    ticket = factories.ticket(of=vic)
    change_status(agent, ticket, TicketStatus.RESOLVED, NOW)
    change_status(agent, ticket, TicketStatus.CLOSED, NOW)
    with pytest.raises(InvalidTransition, match="that is closed cannot become open"):
        change_status(agent, ticket, TicketStatus.OPEN, NOW)
    assert ticket.resolved_at == NOW and ticket.closed_at == NOW


def test_a_reply_is_the_first_response_and_opens_a_new_ticket(vic):
    agent = factories.user(Role.AGENT)
    ticket = factories.ticket(of=vic, requester_email="joana@vic.cat")
    later = NOW + timedelta(minutes=5)
    message = add_message(agent, ticket, MessageKind.REPLY, "Hola", later)
    assert ticket.status is TicketStatus.OPEN and ticket.first_response_at == later
    assert message.to_addresses == "joana@vic.cat"
    add_message(agent, ticket, MessageKind.REPLY, "Una altra", later + timedelta(minutes=1),
                new_status=TicketStatus.PENDING)
    assert ticket.first_response_at == later and ticket.status is TicketStatus.PENDING


def test_the_requester_replying_reopens_a_pending_or_resolved_ticket(vic):
    agent = factories.user(Role.AGENT)
    referent = factories.user(Role.COUNCIL_USER, of=vic)
    ticket = factories.ticket(of=vic)
    add_message(agent, ticket, MessageKind.REPLY, "Ens envieu una captura?", NOW, new_status=TicketStatus.PENDING)
    add_message(referent, ticket, MessageKind.INBOUND, "Aquí la teniu", NOW, [Upload("captura.png", b"\x89PNG..")])
    assert ticket.status is TicketStatus.OPEN
    change_status(agent, ticket, TicketStatus.RESOLVED, NOW)
    add_message(referent, ticket, MessageKind.INBOUND, "Torna a passar", NOW)
    assert ticket.status is TicketStatus.OPEN and ticket.resolved_at is None
    assert [event.changes.get("reason", {}).get("after") for event in trail(ticket)
            if event.action == "status_changed"][:1] == ["requester_replied"]


def test_notes_are_staff_only_and_council_users_write_only_on_their_own_tickets(vic):
    referent = factories.user(Role.COUNCIL_USER, of=vic)
    outsider = factories.user(Role.COUNCIL_USER, of=factories.council())
    ticket = factories.ticket(of=vic)
    with pytest.raises(NotAllowed):
        add_message(referent, ticket, MessageKind.NOTE, "psst", NOW)
    with pytest.raises(NotAllowed):
        add_message(outsider, ticket, MessageKind.INBOUND, "hola", NOW)


def test_attachments_are_stored_once_by_hash_with_limits(vic, app):
    agent = factories.user(Role.AGENT)
    ticket = factories.ticket(of=vic)
    data = b"same bytes" * 100
    add_message(agent, ticket, MessageKind.NOTE, "one", NOW, [Upload("../../etc/informe.pdf", data)])
    add_message(agent, ticket, MessageKind.NOTE, "two", NOW, [Upload("còpia.pdf", data)])
    files = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    assert [item.filename for item in files] == ["informe.pdf", "còpia.pdf"]
    assert files[0].sha256 == files[1].sha256 and files[0].content_type == "application/pdf"
    stored = list((Path(app.instance_path) / "attachments").rglob("*"))
    assert len([path for path in stored if path.is_file()]) == 1
    with pytest.raises(DomainError, match="larger than 10 MB") as refused:
        add_message(agent, ticket, MessageKind.NOTE, "big", NOW, [Upload("big.bin", b"x" * (10 * 1024 * 1024 + 1))])
    assert refused.value.field == "attachments"
    with pytest.raises(DomainError, match="more than 25 MB"):
        add_message(agent, ticket, MessageKind.NOTE, "many", NOW, [Upload(f"{n}.bin", b"x" * (9 * 1024 * 1024))
                                                                   for n in range(3)])


def test_a_call_opens_a_phone_ticket_or_is_added_to_one(vic):
    agent = factories.user(Role.AGENT)
    call = log_call(agent, CallData(CallDirection.INBOUND, "938 86 21 00", "Marta", NOW - timedelta(minutes=10),
                                    300, "Pregunta pel logotip", Category.CONFIGURATION), NOW,
                    new_ticket=TicketData(subject="Trucada: logotip", body="", channel=Channel.PHONE,
                                          council_id=vic.id))
    ticket = call.ticket
    assert ticket.channel is Channel.PHONE and ticket.category is Category.CONFIGURATION
    assert ticket.messages[0].kind is MessageKind.CALL and ticket.requester_phone == "+34938862100"
    assert ticket.first_response_at is None  # an incoming call is not yet an answer
    log_call(agent, CallData(CallDirection.OUTBOUND, "938 86 21 00", "Marta", NOW, 120, "Li hem explicat com fer-ho"),
             NOW, ticket=ticket)
    assert ticket.first_response_at == NOW and len(ticket.messages) == 2
    with pytest.raises(DomainError, match="future"):
        log_call(agent, CallData(CallDirection.INBOUND, "", "", NOW + timedelta(hours=1), 0, "x"), NOW,
                 ticket=ticket)


def test_a_stale_save_is_refused_naming_who_changed_it(vic):
    first = factories.user(Role.AGENT)
    second = factories.user(Role.AGENT)
    second.name = "Pere Agent"
    ticket = factories.ticket(of=vic)
    loaded = ticket.version
    update_ticket(second, ticket, changes(ticket, priority=Priority.HIGH), NOW, expected_version=loaded)
    with pytest.raises(StaleRecord, match="Pere Agent changed ticket") :
        update_ticket(first, ticket, changes(ticket, priority=Priority.LOW), NOW, expected_version=loaded)
    assert ticket.priority is Priority.HIGH


def test_assign_to_me_gives_the_ticket_to_the_first_only(vic):
    first, second = factories.user(Role.AGENT), factories.user(Role.AGENT)
    first.name = "Primera"
    ticket_id = factories.ticket(of=vic).id
    assert assign_to_me(first, ticket_id, NOW).assignee_id == first.id
    with pytest.raises(DomainError, match="already assigned to Primera"):
        assign_to_me(second, ticket_id, NOW)
    assert db.session.get(Ticket, ticket_id).status is TicketStatus.OPEN


def test_merge_moves_messages_and_closes_the_duplicate_with_a_pointer(vic):
    agent = factories.user(Role.AGENT)
    target = factories.ticket("Logotip", "primer", of=vic)
    duplicate = factories.ticket("Logotip (un altre cop)", "segon", of=vic)
    merge_tickets(agent, duplicate, target, NOW)
    assert [message.body_text for message in target.messages] == ["primer", "segon"]
    assert duplicate.status is TicketStatus.CLOSED and duplicate.merged_into == target
    with pytest.raises(DomainError, match="into itself"):
        merge_tickets(agent, target, target, NOW)
    with pytest.raises(DomainError, match="is already closed"):
        merge_tickets(agent, duplicate, target, NOW)


def test_deleting_a_message_is_an_audited_soft_delete(vic):
    agent = factories.user(Role.AGENT)
    ticket = factories.ticket(of=vic)
    message = add_message(agent, ticket, MessageKind.NOTE, "password: 1234", NOW)
    delete_message(agent, message, NOW)
    assert db.session.get(Message, message.id).body_text == "password: 1234"  # kept
    assert message.is_deleted and not message.is_visible_to_council
    assert trail(ticket)[0].action == "message_deleted"


def test_tickets_of_different_councils_cannot_be_merged(vic):
    agent = factories.user(Role.AGENT)
    ours = factories.ticket("Logotip", "a", of=vic)
    theirs = factories.ticket("Logotip", "b", of=factories.council(name="Ajuntament de Manresa"))
    with pytest.raises(DomainError, match="belongs to another council"):
        merge_tickets(agent, theirs, ours, NOW)
    assert [message.body_text for message in ours.messages] == ["a"]


def test_changing_council_and_assignee_is_audited_and_drops_the_old_councils_platform(vic):
    agent = factories.user(Role.AGENT)
    manresa = factories.council(name="Ajuntament de Manresa")
    ticket = factories.ticket(of=vic)
    assert ticket.instance is not None
    assert update_ticket(agent, ticket, changes(ticket, council_id=manresa.id, assignee_id=agent.id), NOW)
    assert ticket.council_id == manresa.id and ticket.instance_id is None
    event = trail(ticket)[0]
    assert set(event.changes) == {"council_id", "instance_id", "assignee_id"}
    assert event.changes["council_id"] == {"before": vic.id, "after": manresa.id}


def test_an_outbound_call_back_is_the_first_response_at_its_start_time(vic):
    agent = factories.user(Role.AGENT)
    ticket = factories.ticket(of=vic)
    called = NOW - timedelta(minutes=20)
    log_call(agent, CallData(CallDirection.OUTBOUND, "", "", called, 60, "Li hem trucat"), NOW, ticket=ticket)
    assert ticket.first_response_at == called and ticket.status is TicketStatus.OPEN


def test_a_closed_ticket_cannot_be_taken(vic):
    agent = factories.user(Role.AGENT)
    ticket = factories.ticket(of=vic)
    change_status(agent, ticket, TicketStatus.CLOSED, NOW)
    db.session.commit()
    with pytest.raises(DomainError, match="is closed"):
        assign_to_me(agent, ticket.id, NOW)
