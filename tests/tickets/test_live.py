"""The live desk: the event log every worker reads, who has a ticket open, drafts on the server, and a reply
that would go out on top of someone else's asking first."""
import re
import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.councils.models import Council
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import live
from helpdesk.tickets.models import Message, Ticket
from helpdesk.tickets.services import add_message, assign, change_status
from helpdesk.tickets.states import MessageKind, Priority, TicketStatus
from tests import factories
from tests.pages import text


@pytest.fixture
def desk(app):
    council = factories.council(name="Ajuntament de Vic")
    anna = factories.user(Role.AGENT, email="anna@example.org")
    anna.name = "Anna"
    bernat = factories.user(Role.AGENT, email="bernat@example.org")
    bernat.name = "Bernat"
    db.session.commit()
    ticket = factories.ticket("La web no carrega", of=council)
    return {"council": council.id, "anna": anna.id, "bernat": bernat.id, "ticket": ticket.id}


def agent(app, email):
    client = app.test_client()
    client.login(email, factories.PASSWORD)
    client.get("/inbox")
    return client


def ask(client, **body):
    response = client.post("/live", json=body, headers={"X-CSRFToken": client.csrf_token})
    assert response.status_code == 200, response.status_code
    return response.get_json()


def test_every_write_path_logs_what_open_pages_should_show(app, desk):
    start = live.last_event_id()
    ticket = db.session.get(Ticket, desk["ticket"])
    anna = db.session.get(User, desk["anna"])
    assign(anna, ticket, anna.id, utcnow())
    add_message(anna, ticket, MessageKind.REPLY, "Ho mirem.", utcnow())
    change_status(anna, ticket, TicketStatus.PENDING, utcnow())
    db.session.commit()
    created = factories.ticket("Una altra consulta")
    changes, more = live.changes_after(start)
    kinds = [(change.kind, change.ticket) for change in changes if change.id > start]
    assert ("ticket_changed", ticket.id) in kinds and ("message_added", ticket.id) in kinds
    assert ("ticket_created", created.id) in kinds and ("message_added", created.id) in kinds
    fields = {change.fields for change in changes if change.kind == "ticket_changed"}
    assert any("assignee_id" in item for item in fields) and any("status" in item for item in fields)
    assert not more


def test_only_staff_ask_and_a_page_gets_what_it_had_not_seen(app, desk):
    council_user = factories.user(Role.COUNCIL_USER, of=db.session.get(Council, desk["council"]))
    outsider = app.test_client()
    outsider.login(council_user.email, factories.PASSWORD)
    outsider.get("/account")
    assert outsider.post("/live", json={}, headers={"X-CSRFToken": outsider.csrf_token}).status_code == 403
    anna = agent(app, "anna@example.org")
    first = ask(anna, after=0)
    factories.ticket("Nova")
    second = ask(anna, after=first["last"])
    assert second["last"] > first["last"]
    assert {change["kind"] for change in second["changes"] if change["id"] > first["last"]} == \
        {"ticket_created", "message_added"}
    assert anna.post("/live", data="not json", headers={"X-CSRFToken": anna.csrf_token}).status_code == 400
    assert anna.post("/live", json={"after": 0}).status_code == 400  # no CSRF token: refused


def test_others_see_who_has_a_ticket_open_and_who_is_typing(app, desk):
    anna, bernat = agent(app, "anna@example.org"), agent(app, "bernat@example.org")
    number = desk["ticket"]
    ask(anna, after=0, ticket=number, typing=True)
    answer = ask(bernat, after=0, ticket=number)
    assert answer["present"][str(number)] == [{"name": "Anna", "typing": True}]
    assert ask(anna, after=0, ticket=number, typing=True)["present"][str(number)] == [
        {"name": "Bernat", "typing": False}]  # others, never oneself
    page = text(bernat.get(f"/tickets/{number}"))
    assert "També hi és:" in page and "Anna" in page
    assert "obert per Anna" in text(bernat.get("/inbox"))  # the inbox marks it
    anna.submit(f"/tickets/{number}/leave")
    assert str(number) not in ask(bernat, after=0, ticket=number)["present"]  # Anna closed her page


def test_a_draft_is_kept_on_the_server_and_comes_back_on_another_machine(app, desk):
    number = desk["ticket"]
    laptop = agent(app, "anna@example.org")
    laptop.get(f"/tickets/{number}")
    saved = laptop.post(f"/tickets/{number}/draft", json={"kind": "reply", "body": "Bon dia, estem revisant"},
                        headers={"X-CSRFToken": laptop.csrf_token})
    assert saved.status_code == 200
    other = agent(app, "anna@example.org")
    page = text(other.get(f"/tickets/{number}"))
    assert re.search(r'<textarea[^>]*id="reply-body"[^>]*>\s*Bon dia, estem revisant', page)
    assert "Bon dia, estem revisant" not in text(agent(app, "bernat@example.org").get(f"/tickets/{number}"))
    other.submit(f"/tickets/{number}/reply", {"reply-body": "Bon dia, estem revisant el problema.", "reply-then": "",
                                                "seen": str(_last_message(number))})
    assert "Bon dia, estem revisant" not in text(laptop.get(f"/tickets/{number}")).split("</ol>", 1)[1]


def _last_message(number):
    return db.session.scalar(select(Message.id).where(Message.ticket_id == number).order_by(Message.id.desc()))


def test_sending_on_top_of_someone_elses_reply_asks_first_showing_it(app, desk):
    number = desk["ticket"]
    anna, bernat = agent(app, "anna@example.org"), agent(app, "bernat@example.org")
    anna.get(f"/tickets/{number}")
    seen = _last_message(number)
    bernat.get(f"/tickets/{number}")
    bernat.submit(f"/tickets/{number}/reply", {"reply-body": "Ja està solucionat, proveu-ho ara.", "reply-then": "", "seen": str(seen)})
    asked = anna.submit(f"/tickets/{number}/reply", {"reply-body": "Estem investigant-ho.", "reply-then": "", "seen": str(seen)})
    assert asked.status_code == 409
    page = text(asked)
    assert "Ja està solucionat, proveu-ho ara." in page and "La vostra resposta no s'ha enviat" in page
    assert db.session.scalar(select(Message).where(Message.body_text == "Estem investigant-ho.")) is None
    sent = anna.submit(f"/tickets/{number}/reply", {"reply-body": "Estem investigant-ho.", "reply-then": "", "seen": str(seen),
                                                     "send_anyway": "1"})
    assert sent.status_code == 302
    assert db.session.scalar(select(Message).where(Message.body_text == "Estem investigant-ho.")) is not None


def test_the_inbox_tabs_show_their_counts(app, desk):
    for number in range(3):
        factories.ticket(f"Consulta {number}")
    page = text(agent(app, "anna@example.org").get("/inbox"))
    assert re.search(r'data-count="unassigned">4<', page) and re.search(r'data-count="mine">0<', page)


def test_an_open_inbox_gets_its_fresh_rows_with_the_answer_only_when_something_happened(app, desk):
    anna = agent(app, "anna@example.org")
    first = ask(anna, after=0, inbox="?view=all&q=")
    quiet = ask(anna, after=first["last"], inbox="?view=all&q=")
    assert quiet["inbox"] is None  # nothing new: no rows rendered
    factories.ticket("Els pressupostos no es veuen", priority=Priority.HIGH)
    factories.ticket("Canvi del logotip", priority=Priority.LOW)
    fresh = ask(anna, after=quiet["last"], inbox="?view=all&priority=high")
    rows = fresh["inbox"]
    assert "Els pressupostos no es veuen" in rows and "Canvi del logotip" not in rows  # the page's own filter
    assert re.search(r'data-count="unassigned">3<', rows) and re.search(r'class="total">1 [a-z]+<', rows)
    assert "<html" not in rows and "csrf_token" not in rows  # the parts that change, not the page
    again = anna.get("/inbox?view=all&priority=low", headers={"X-Live": "1"})
    assert "Canvi del logotip" in text(again) and "Els pressupostos" not in text(again)
    assert "<form" not in text(again)


def test_old_events_are_forgotten(app, desk):
    from datetime import timedelta
    from helpdesk.tickets.live import DeskEvent
    db.session.execute(DeskEvent.__table__.update().values(at=utcnow() - timedelta(days=2)))
    db.session.commit()
    factories.ticket("Recent")
    assert live.forget_old_events() >= 2
    assert {event.kind.value for event in db.session.scalars(select(DeskEvent))} == {"ticket_created",
                                                                                     "message_added"}
