"""Merging asks first, showing both tickets; a requester's message is split off into a ticket of its own."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.core.audit import trail
from helpdesk.core.errors import DomainError
from helpdesk.core.models import utcnow
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.tickets.models import Attachment, Message, Ticket
from helpdesk.tickets.services import Upload, add_message, change_status
from helpdesk.tickets.split import split_message
from helpdesk.tickets.states import MessageKind, TicketStatus
from tests import factories
from tests.pages import error_after, text

NOW = utcnow()


@pytest.fixture
def desk(app):
    vic = factories.council(name="Ajuntament de Vic")
    factories.instance(vic, url="https://vic.participa311.diba.cat")
    factories.user(Role.AGENT, email="agent@example.org", language="en")
    factories.user(Role.COUNCIL_USER, of=vic, email="marta@vic.cat", language="en")
    manresa = factories.council(name="Ajuntament de Manresa")
    factories.user(Role.COUNCIL_USER, of=manresa, email="pere@manresa.cat", language="en")
    return vic


def user(email):
    return db.session.scalar(select(User).where(User.email == email))


# --- merge ------------------------------------------------------------------------------------------

def test_merge_shows_both_tickets_and_merges_only_once_confirmed(client, desk):
    first = factories.ticket("The logo does not change", "I uploaded a PNG and nothing happens.", of=desk,
                             requester_name="Marta Puigdollers", requester_email="marta@vic.cat")
    second = factories.ticket("Logo again", "Still the old logo.", of=desk, requester_email="marta@vic.cat")
    add_message(user("agent@example.org"), first, MessageKind.REPLY, "Which size is the PNG?", NOW)
    db.session.commit()
    first_id, second_id = first.id, second.id
    client.login("agent@example.org", factories.PASSWORD)
    client.get(f"/tickets/{second_id}")
    response = client.submit(f"/tickets/{second_id}/merge", {"merge-target": f"#{first_id}"})
    page = text(response)
    assert response.status_code == 200 and f"Merge #{second_id} into #{first_id}?" in page
    # side by side: the one that closes, then the one that stays, with their facts and messages
    closes, stays = page.index("Closes: its messages move to"), page.index("Stays open and receives the messages")
    assert page.index("Logo again") < closes < page.index("The logo does not change") < stays
    assert "Ajuntament de Vic" in page and "Marta Puigdollers" in page
    assert "I uploaded a PNG and nothing happens." in page and "Which size is the PNG?" in page  # first and last
    assert re.search(r"Messages</dt><dd>2</dd>", page) and re.search(r"Messages</dt><dd>1</dd>", page)
    assert db.session.get(Ticket, second_id).merged_into_id is None  # nothing changed yet

    response = client.submit(f"/tickets/{second_id}/merge", {"merge-target": str(first_id), "confirm": "1"})
    assert response.status_code == 302 and response.headers["Location"] == f"/tickets/{first_id}"
    assert db.session.get(Ticket, second_id).merged_into_id == first_id
    assert len(db.session.get(Ticket, first_id).messages) == 3


def test_the_confirmation_offers_to_keep_the_other_ticket_instead(client, desk):
    first, second = factories.ticket("A", "a", of=desk).id, factories.ticket("B", "b", of=desk).id
    client.login("agent@example.org", factories.PASSWORD)
    client.get(f"/tickets/{second}")
    page = text(client.submit(f"/tickets/{second}/merge", {"merge-target": str(first)}))
    assert f"Keep #{second} instead" in page
    # that button asks the same question the other way round
    page = text(client.submit(f"/tickets/{first}/merge", {"merge-target": str(second)}))
    assert f"Merge #{first} into #{second}?" in page
    assert db.session.get(Ticket, first).merged_into_id is None and db.session.get(Ticket, second).merged_into_id is None


def test_a_merge_the_rules_forbid_is_refused_before_the_confirmation(client, desk):
    agent = user("agent@example.org")
    first, second = factories.ticket("A", "a", of=desk), factories.ticket("B", "b", of=desk)
    other = factories.ticket("Manresa", "m", of=db.session.scalar(
        select(Council).where(Council.name == "Ajuntament de Manresa")))
    change_status(agent, first, TicketStatus.CLOSED, NOW)
    db.session.commit()
    first_id, second_id, other_id = first.id, second.id, other.id
    client.login("agent@example.org", factories.PASSWORD)
    client.get(f"/tickets/{second_id}")
    response = client.submit(f"/tickets/{second_id}/merge", {"merge-target": str(first_id)})
    assert response.status_code == 422
    assert error_after(text(response), "merge-target") == f"Ticket #{first_id} is closed: merge into an open ticket."
    response = client.submit(f"/tickets/{second_id}/merge", {"merge-target": str(other_id), "confirm": "1"})
    assert "belongs to another council" in error_after(text(response), "merge-target")
    assert db.session.get(Ticket, second_id).status is TicketStatus.NEW


def test_the_confirmation_needs_the_forms_token(client, desk):
    first, second = factories.ticket("A", "a", of=desk).id, factories.ticket("B", "b", of=desk).id
    client.login("agent@example.org", factories.PASSWORD)
    response = client.post(f"/tickets/{second}/merge", data={"merge-target": str(first), "confirm": "1"})
    assert response.status_code == 400
    assert db.session.get(Ticket, second).merged_into_id is None


# --- split ------------------------------------------------------------------------------------------

def a_thread(desk):
    """A ticket opened by the council, an agent's reply, then a new question with a screenshot."""
    marta, agent = user("marta@vic.cat"), user("agent@example.org")
    ticket = factories.ticket("Logo", "The logo does not change.", of=desk, actor=marta, now=NOW - timedelta(days=3))
    add_message(agent, ticket, MessageKind.REPLY, "Fixed, try again.", NOW - timedelta(days=2))
    note = add_message(agent, ticket, MessageKind.NOTE, "Cache cleared on the server.", NOW - timedelta(days=2))
    question = add_message(marta, ticket, MessageKind.INBOUND, "Thanks! Another thing: how do we add a survey?",
                           NOW - timedelta(hours=1), [Upload("survey.png", b"\x89PNG\r\n\x1a\nsurvey")])
    db.session.commit()
    return ticket, note, question


def test_a_message_split_off_opens_a_ticket_with_its_files_and_both_histories_name_the_other(desk):
    ticket, _, question = a_thread(desk)
    agent = user("agent@example.org")
    new = split_message(agent, ticket, question, "How to add a survey", NOW)
    db.session.commit()
    assert new.id != ticket.id and new.subject == "How to add a survey"
    assert (new.council_id, new.instance_id, new.requester_email, new.requester_contact_id) == (
        ticket.council_id, ticket.instance_id, ticket.requester_email, ticket.requester_contact_id)
    assert [message.id for message in new.messages] == [question.id]
    assert [item.filename for item in new.messages[0].attachments] == ["survey.png"]
    assert question.id not in [message.id for message in db.session.get(Ticket, ticket.id).messages]
    assert new.status is TicketStatus.NEW and new.first_response_at is None
    # its own clocks, counted from the split (the old ticket's first response does not count for it)
    assert new.sla_policy is not None and new.first_response_due_at > NOW
    [split] = [event for event in trail(ticket) if event.action == "split"]
    assert split.changes["split_into_id"]["after"] == new.id and split.actor_id == agent.id
    [origin] = [event for event in trail(new) if event.action == "split_from"]
    assert origin.changes["split_from_id"]["after"] == ticket.id
    assert origin.changes["message_id"]["after"] == question.id


@pytest.mark.parametrize("which", ["first", "reply", "note"])
def test_only_a_later_message_from_the_requester_can_be_split_off(desk, which):
    ticket, note, _ = a_thread(desk)
    message = {"first": ticket.messages[0], "reply": ticket.messages[1], "note": note}[which]
    with pytest.raises(DomainError):
        split_message(user("agent@example.org"), ticket, message, "New", NOW)


def test_split_from_the_ticket_page_asks_for_the_subject_then_the_council_sees_both(client, desk):
    ticket, note, question = a_thread(desk)
    number, question_id, note_id = ticket.id, question.id, note.id
    client.login("agent@example.org", factories.PASSWORD)
    page = text(client.get(f"/tickets/{number}"))
    # the action is on the requester's later message only
    assert page.count("Split into a new ticket") == 1
    assert f"/tickets/{number}/messages/{question_id}/split" in page
    assert client.get(f"/tickets/{number}/messages/{note_id}/split").status_code == 302  # refused, said why
    form = text(client.get(f"/tickets/{number}/messages/{question_id}/split"))
    assert f'value="Logo (split from #{number})"' in form and "how do we add a survey?" in form
    response = client.submit(f"/tickets/{number}/messages/{question_id}/split", {"split-subject": ""})
    assert response.status_code == 422 and error_after(text(response), "split-subject")
    response = client.submit(f"/tickets/{number}/messages/{question_id}/split", {"split-subject": "Surveys"})
    new = db.session.scalar(select(Ticket).where(Ticket.subject == "Surveys"))
    assert response.status_code == 302 and response.headers["Location"] == f"/tickets/{new.id}"
    page = text(client.get(f"/tickets/{new.id}"))
    assert "how do we add a survey?" in page and f'href="/tickets/{number}">#{number}</a>' in page
    assert f'href="/tickets/{new.id}">#{new.id}</a>' in text(client.get(f"/tickets/{number}"))

    attachment = db.session.scalar(select(Attachment).where(Attachment.filename == "survey.png"))
    client.post("/logout", data={"csrf_token": client.csrf_token})
    client.login("marta@vic.cat", factories.PASSWORD)
    assert "how do we add a survey?" in text(client.get(f"/tickets/{new.id}"))
    assert "how do we add a survey?" not in text(client.get(f"/tickets/{number}"))
    with client.get(f"/attachments/{attachment.id}/survey.png") as response:
        assert response.status_code == 200 and response.data == b"\x89PNG\r\n\x1a\nsurvey"
    client.post("/logout", data={"csrf_token": client.csrf_token})
    client.login("pere@manresa.cat", factories.PASSWORD)
    assert client.get(f"/tickets/{new.id}").status_code == 404
    assert client.get(f"/attachments/{attachment.id}/survey.png").status_code == 404


def test_council_users_cannot_split(client, desk):
    ticket, _, question = a_thread(desk)
    number, question_id = ticket.id, question.id
    client.login("marta@vic.cat", factories.PASSWORD)
    assert "Split into a new ticket" not in text(client.get(f"/tickets/{number}"))
    assert client.get(f"/tickets/{number}/messages/{question_id}/split").status_code == 403
    assert client.submit(f"/tickets/{number}/messages/{question_id}/split", {"split-subject": "x"}).status_code == 403
    assert db.session.get(Message, question_id).ticket_id == number
