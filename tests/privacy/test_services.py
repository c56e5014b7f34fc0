"""Export, erasure and the retention purge, through the services."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from helpdesk.auth.models import Role, User
from helpdesk.core.audit import AuditEvent
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage
from helpdesk.councils.models import Contact
from helpdesk.extensions import db
from helpdesk.privacy import services
from helpdesk.privacy.services import (NothingToErase, export_person, purge, pseudonymise_contact,
                                       pseudonymise_user)
from helpdesk.tickets.models import Call, Message, Ticket
from helpdesk.tickets.services import TicketData, change_status, open_ticket
from helpdesk.tickets.states import Channel, TicketStatus
from tests import factories
from tests.privacy.conftest import ANNA_EMAIL, ANNA_NAME, ANNA_PHONE, rows_holding


def test_export_holds_the_persons_tickets_messages_and_call_and_nothing_of_another(people):
    data = export_person(people.admin, people.anna)
    db.session.commit()
    text = json.dumps(data, ensure_ascii=False)
    assert [ticket["number"] for ticket in data["tickets"]] == [people.anna_ticket.id]
    ticket = data["tickets"][0]
    assert ticket["subject"] == "Logo nou al portal"
    assert [message["body_text"] for message in ticket["messages"]][0] == "Volem canviar el logo de la capçalera."
    assert all(message["created_at"] for message in ticket["messages"])
    assert [call["summary"] for call in data["calls"]] == ["Truca per confirmar que el logo ja es veu."]
    assert data["contacts"][0]["email"] == ANNA_EMAIL and data["contacts"][0]["phone"] == ANNA_PHONE
    assert data["councils"] == [{"id": people.council.id, "name": "Ajuntament de Sant Privat",
                                 "ine_code": people.council.ine_code}]
    assert any(item["to"] == ANNA_EMAIL for item in data["mail_sent_to_them"])  # the reply e-mailed to her
    assert any(event["action"] == "created" for event in data["audit_about_them"])
    # Nothing of Bernat, nor the agent's reply (the desk's words, not hers).
    assert "bernat" not in text.lower() and "pressupostos" not in text
    assert "panell d'administració" not in json.dumps(data["tickets"], ensure_ascii=False)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data_exported"))
    assert (event.object_type, event.object_id, event.actor_id) == ("contacts", people.anna.id, people.admin.id)


def test_export_of_a_user_holds_the_account_without_its_secrets(people):
    carla = factories.user(Role.COUNCIL_USER, of=people.council, email="carla@santprivat.cat")
    data = export_person(people.admin, carla)
    assert data["user"]["email"] == "carla@santprivat.cat"
    assert not any(key in data["user"] for key in ("password_hash", "session_token", "totp_secret"))
    assert "last_login_at" in data["sign_in"]


def test_pseudonymising_a_contact_leaves_no_address_or_phone_anywhere_and_keeps_the_tickets(people):
    before_bernat = (people.bernat.name, people.bernat.email)
    erasure = pseudonymise_contact(people.admin, people.anna)
    db.session.commit()
    db.session.expire_all()

    assert rows_holding(ANNA_EMAIL, ANNA_PHONE, ANNA_NAME) == []
    anna = db.session.get(Contact, people.anna.id)
    assert anna.name == erasure.pseudonym and anna.name.startswith("Persona ")
    assert anna.email.startswith("pseudonym-") and anna.email.endswith("@invalid") and anna.phone is None
    ticket = db.session.get(Ticket, people.anna_ticket.id)
    assert (ticket.requester_name, ticket.requester_email, ticket.requester_phone) == (anna.name, anna.email, None)
    assert ticket.subject == "Logo nou al portal"
    assert [message.body_text for message in ticket.messages][:2] == [
        "Volem canviar el logo de la capçalera.", "El logo es canvia des del panell d'administració."]
    call = db.session.scalar(select(Call))
    assert (call.caller_number, call.caller_name, call.summary) == (
        "", anna.name, "Truca per confirmar que el logo ja es veu.")
    reply = db.session.scalar(select(OutboxMessage))
    assert reply.to_addresses == anna.email  # queued mail can no longer reach her
    bernat = db.session.get(Contact, people.bernat.id)
    assert (bernat.name, bernat.email) == before_bernat
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data_pseudonymised"))
    assert event.object_id == anna.id and event.changes["tickets"]["after"] == 1
    assert "garcia" not in json.dumps(event.changes).lower()


def test_pseudonymising_twice_changes_nothing_the_second_time(people):
    first = pseudonymise_contact(people.admin, people.anna)
    db.session.commit()
    events = db.session.scalar(select(func.count(AuditEvent.id)))
    with pytest.raises(NothingToErase):
        pseudonymise_contact(people.admin, db.session.get(Contact, people.anna.id))
    db.session.rollback()
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events
    assert db.session.get(Contact, people.anna.id).name == first.pseudonym


def test_the_pseudonym_is_stable_for_one_address(people, app):
    other = factories.council("Consell Comarcal de Prova")
    twin = factories.contact(other, name="Anna G.", email=ANNA_EMAIL)
    erasure = pseudonymise_contact(people.admin, people.anna)
    db.session.commit()
    # The same person in another council's list is the same person: erased with the same pseudonym.
    assert db.session.get(Contact, twin.id).name == erasure.pseudonym


def test_pseudonymising_a_user_deactivates_the_account_and_removes_their_address(people, client):
    carla = factories.user(Role.COUNCIL_USER, of=people.council, email="carla@santprivat.cat")
    opened = open_ticket(carla, TicketData(subject="No veig el menú", body="El menú ha desaparegut.",
                                           channel=Channel.WEB), utcnow())
    db.session.commit()
    erasure = pseudonymise_user(people.admin, carla)
    db.session.commit()
    db.session.expire_all()
    carla = db.session.get(User, carla.id)
    assert not carla.is_active and carla.name == erasure.pseudonym
    assert rows_holding("carla@santprivat.cat") == []
    assert db.session.get(Ticket, opened.id).messages[0].body_text == "El menú ha desaparegut."
    response = client.login("carla@santprivat.cat", factories.PASSWORD)
    assert "/login" in response.headers.get("Location", "/login")  # the old address signs nobody in


def test_refusals(people, english):
    with pytest.raises(DomainError, match="own account"):
        pseudonymise_user(people.admin, people.admin)
    with pytest.raises(NotAllowed):
        pseudonymise_contact(people.agent, people.anna)
    with pytest.raises(NotAllowed):
        export_person(people.agent, people.anna)
    with pytest.raises(DomainError, match="last active administrator"):
        pseudonymise_user(None, people.admin)
    factories.user(Role.COUNCIL_USER, of=people.council, email=ANNA_EMAIL)
    with pytest.raises(DomainError, match="user account has this address"):
        pseudonymise_contact(people.admin, people.anna)
    db.session.rollback()
    assert db.session.get(Contact, people.anna.id).email == ANNA_EMAIL


# --- the retention purge ------------------------------------------------------------------------------------

OLD_TICKETS = 2 * services.CHUNK + 45  # three chunks


def _tickets(council, agent, count: int, opened_at, status: TicketStatus | None, label: str) -> list[int]:
    ids = []
    for number in range(count):
        ticket = open_ticket(agent, TicketData(
            subject=f"{label} {number}", body=f"Consulta {label} {number}", channel=Channel.EMAIL,
            council_id=council.id, requester_name=f"Persona real {label} {number}",
            requester_email=f"{label}{number}@example.org"), opened_at)
        if status is not None:
            change_status(agent, ticket, status, opened_at + timedelta(hours=1))
        ids.append(ticket.id)
    db.session.commit()
    return ids


@pytest.fixture
def old_and_new(people):
    now = utcnow()
    long_ago = now - timedelta(days=6 * 365)
    closed = _tickets(people.council, people.agent, OLD_TICKETS - 5, long_ago, TicketStatus.CLOSED, "vell")
    resolved = _tickets(people.council, people.agent, 5, long_ago, TicketStatus.RESOLVED, "resolt")
    still_open = _tickets(people.council, people.agent, 3, long_ago, None, "obert")
    recent = _tickets(people.council, people.agent, 4, now - timedelta(days=30), TicketStatus.CLOSED, "recent")
    kept = still_open + recent + [people.anna_ticket.id, people.bernat_ticket.id]
    db.session.expunge_all()
    return {"old": closed + resolved, "resolved": resolved, "kept": kept, "now": now}


def _requesters(ids):
    return {row.id: (row.requester_name, row.requester_email, row.status) for row in db.session.execute(
        select(Ticket.id, Ticket.requester_name, Ticket.requester_email, Ticket.status).where(Ticket.id.in_(ids)))}


def test_purge_dry_run_changes_nothing_and_the_run_changes_exactly_the_old_tickets(old_and_new):
    everything = old_and_new["old"] + old_and_new["kept"]
    before = _requesters(everything)
    events = db.session.scalar(select(func.count(AuditEvent.id)))

    report = purge(None, old_and_new["now"], years=5, dry_run=True)
    assert (report.tickets, report.closed, report.chunks) == (OLD_TICKETS, 5, 3)
    assert report.numbers == sorted(old_and_new["old"])[:services.DRY_RUN_SHOWN]
    db.session.expire_all()
    assert _requesters(everything) == before
    assert db.session.scalar(select(func.count(AuditEvent.id))) == events

    report = purge(None, old_and_new["now"], years=5)
    assert (report.tickets, report.closed, report.chunks) == (OLD_TICKETS, 5, 3)
    after = _requesters(everything)
    for number in old_and_new["old"]:
        name, email, status = after[number]
        assert name.startswith("Persona ") and email.startswith("pseudonym-") and status is TicketStatus.CLOSED
    assert {number: after[number] for number in old_and_new["kept"]} == {
        number: before[number] for number in old_and_new["kept"]}
    assert rows_holding("vell7@example.org", "Persona real vell7") == []
    first = db.session.scalar(select(Message).where(Message.ticket_id == old_and_new["old"][7]))
    assert first.body_text == "Consulta vell 7" and first.from_address.endswith("@invalid")
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "requester_pseudonymised")) == OLD_TICKETS

    again = purge(None, old_and_new["now"], years=5)
    assert again.tickets == 0  # what was purged is not taken again


def test_purge_with_no_retention_does_nothing(people, app):
    assert app.config["PRIVACY_RETENTION_YEARS"] == 0
    report = purge(None, utcnow(), dry_run=False)
    assert report.disabled and report.tickets == 0


def test_the_scheduler_purges_daily_once_a_retention_period_is_set(old_and_new, app):
    from helpdesk.privacy.jobs import purge_expired
    from helpdesk.scheduler import all_jobs
    assert "privacy-purge" in {job.name for job in all_jobs()}
    assert purge_expired() == 0  # 0 years: never
    app.config["PRIVACY_RETENTION_YEARS"] = 5
    assert purge_expired() == OLD_TICKETS
    assert all(email.startswith("pseudonym-") for _, email, _ in _requesters(old_and_new["old"]).values())
