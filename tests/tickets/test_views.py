import io
import re

from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.tickets.models import Attachment, Call, Message, Ticket
from helpdesk.tickets.states import MessageKind, TicketStatus
from tests import factories
from helpdesk.auth.models import User
from helpdesk.councils.models import Council
from tests.pages import error_after, text


def setup_desk():
    vic = factories.council(name="Ajuntament de Vic", phones=["938 86 21 00"])
    factories.instance(vic, url="https://vic.participa311.diba.cat")
    factories.contact(vic, name="Marta Puigdollers", email="referent@vic.cat", phone="938 86 21 15", referent=True)
    factories.user(Role.AGENT, email="agent@example.org")
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    manresa = factories.council(name="Ajuntament de Manresa")
    factories.user(Role.COUNCIL_USER, of=manresa, email="referent@ajmanresa.cat")
    return vic.id


def test_a_council_user_opens_a_ticket_with_an_attachment_and_follows_it(client, app):
    setup_desk()
    client.login("referent@vic.cat", factories.PASSWORD)
    client.get("/tickets/new")
    response = client.submit("/tickets/new", {"subject": "", "category": "usage", "body": "Com es fa?"})
    assert response.status_code == 422
    assert error_after(text(response), "subject") == "Aquest camp és obligatori."
    response = client.submit("/tickets/new", {
        "subject": "Com publicar una enquesta", "category": "usage", "body": "No trobem el botó.",
        "attachments": (io.BytesIO(b"\x89PNG\r\n\x1a\nfake"), "captura.png")}, content_type="multipart/form-data")
    assert response.status_code == 302
    ticket = db.session.scalar(select(Ticket))
    assert ticket.channel.value == "web" and ticket.instance.host == "vic.participa311.diba.cat"
    page = text(client.get(response.headers["Location"]))
    assert "Com publicar una enquesta" in page and "captura.png" in page
    assert "Com publicar una enquesta" in text(client.get("/tickets"))


def test_internal_notes_never_reach_the_council_and_other_councils_get_404(client, app):
    setup_desk()
    agent = db.session.scalar(select(User).where(User.email == "agent@example.org"))
    ticket = factories.ticket("Logotip", "No canvia", of=db.session.scalar(select(Council)))
    from helpdesk.core.models import utcnow
    from helpdesk.tickets.services import Upload, add_message
    add_message(agent, ticket, MessageKind.NOTE, "Secret: el servidor està malament", utcnow(),
                [Upload("intern.txt", b"intern")])
    add_message(agent, ticket, MessageKind.REPLY, "Ho mirem", utcnow())
    db.session.commit()
    number = ticket.id
    note_file = db.session.scalar(select(Attachment)).id
    client.login("referent@vic.cat", factories.PASSWORD)
    page = text(client.get(f"/tickets/{number}"))
    assert "Ho mirem" in page and "Secret" not in page and "intern.txt" not in page
    assert client.get(f"/attachments/{note_file}/intern.txt").status_code == 404
    other = app.test_client()
    other.login("referent@ajmanresa.cat", factories.PASSWORD)
    assert other.get(f"/tickets/{number}").status_code == 404
    assert "Logotip" not in text(other.get("/tickets"))


def test_an_agent_works_a_ticket_from_the_inbox(client, app):
    vic_id = setup_desk()
    number = factories.ticket("Error 500 als pressupostos", "Surt un error", of=db.session.get(Council,
                                                                                               vic_id)).id
    client.login("agent@example.org", factories.PASSWORD)
    inbox = text(client.get("/inbox?view=unassigned"))
    assert "Error 500 als pressupostos" in inbox and 'class="unread"' in inbox
    assert client.submit(f"/tickets/{number}/assign-to-me").status_code == 302
    assert "Error 500" not in text(client.get("/inbox?view=unassigned"))
    assert 'class="unread"' in text(client.get("/inbox?view=mine"))  # taken, but not opened yet
    client.get(f"/tickets/{number}")
    assert 'class="unread"' not in text(client.get("/inbox?view=mine"))
    response = client.submit(f"/tickets/{number}/reply", {"reply-body": "Ja ho hem arreglat.",
                                                         "reply-then": "resolved"})
    assert response.status_code == 302
    ticket = db.session.get(Ticket, number)
    assert ticket.status is TicketStatus.RESOLVED and ticket.first_response_at is not None
    page = text(client.get(f"/tickets/{number}"))
    assert "Ja ho hem arreglat." in page and "ha canviat l'estat" in page


def test_a_stale_ticket_form_is_refused_with_who_changed_it(app):
    setup_desk()
    factories.user(Role.AGENT, email="second@example.org")
    number = factories.ticket(of=db.session.scalar(select(Council))).id
    first, second = app.test_client(), app.test_client()
    first.login("agent@example.org", factories.PASSWORD)
    second.login("second@example.org", factories.PASSWORD)
    page = text(first.get(f"/tickets/{number}"))
    version = re.search(r'name="fields-version" type="hidden" value="(\d+)"', page).group(1)
    second.get(f"/tickets/{number}")
    second.submit(f"/tickets/{number}/assign-to-me")
    response = first.submit(f"/tickets/{number}/fields", {
        "fields-version": version, "fields-subject": "Nou assumpte", "fields-status": "open",
        "fields-priority": "high", "fields-category": "other", "fields-council_id": "", "fields-instance_id": "",
        "fields-assignee_id": ""})
    assert response.status_code == 409
    assert f"Mentrestant agent user ha canviat el tiquet #{number}. No s'ha desat res" in text(response)
    ticket = db.session.get(Ticket, number)
    assert ticket.subject != "Nou assumpte" and ticket.assignee is not None


def test_log_a_call_that_opens_a_ticket_recognising_the_caller(client, app):
    setup_desk()
    client.login("agent@example.org", factories.PASSWORD)
    suggestions = client.get("/calls/lookup?number=938862115").json["suggestions"]
    assert suggestions[0]["contact_name"] == "Marta Puigdollers"
    assert client.get("/calls/lookup?name=puigdo").json["suggestions"][0]["council_name"] == "Ajuntament de Vic"
    client.get("/calls/new")
    response = client.submit("/calls/new", {"direction": "inbound", "caller_number": "938 86 21 15",
                                            "caller_name": "", "started_at": "2026-01-15T10:30",
                                            "duration_minutes": "4", "category": "configuration",
                                            "summary": "Vol canviar el logotip", "ticket_number": "",
                                            "subject": "", "council_id": "", "requester_contact_id": ""})
    assert response.status_code == 302, text(response)
    ticket = db.session.scalar(select(Ticket))
    assert ticket.channel.value == "phone" and ticket.council.name == "Ajuntament de Vic"
    assert ticket.requester_name == "Marta Puigdollers"
    call = db.session.scalar(select(Call))
    assert call.duration_seconds == 240 and call.started_at.hour == 9  # 10:30 in Barcelona in winter is 9:30 UTC
    assert "Vol canviar el logotip" in text(client.get("/calls?q=logotip"))
    response = client.submit("/calls/new", {"direction": "inbound", "started_at": "2026-01-15T10:30",
                                            "category": "other", "summary": "x", "ticket_number": "99999"})
    assert error_after(text(response), "ticket_number") == "No hi ha cap tiquet #99999."


def test_merge_and_bulk_from_the_inbox(client, app):
    setup_desk()
    council = db.session.scalar(select(Council))
    first, second = factories.ticket("Logotip", "a", of=council).id, factories.ticket("Logotip 2", "b", of=council).id
    client.login("agent@example.org", factories.PASSWORD)
    client.get(f"/tickets/{second}")
    response = client.submit(f"/tickets/{second}/merge", {"merge-target": f"#{first}", "confirm": "1"})
    assert response.headers["Location"] == f"/tickets/{first}"
    assert db.session.get(Ticket, second).merged_into_id == first
    assert len(db.session.get(Ticket, first).messages) == 2
    client.get("/inbox")
    response = client.submit("/inbox/bulk", {"tickets": [str(first)], "priority": "urgent", "assignee": "me",
                                             "status": "", "next": "/inbox"})
    assert response.status_code == 302
    ticket = db.session.get(Ticket, first)
    assert ticket.priority.value == "urgent" and ticket.assignee.email == "agent@example.org"
    response = client.submit("/inbox/bulk", {"tickets": [str(first), str(second)], "status": "open", "next": "/inbox"})
    page = text(client.get("/inbox"))
    assert f"#{second}" in page and "No s'ha canviat res" in page
    assert db.session.get(Ticket, first).status is TicketStatus.OPEN  # all or nothing: #first unchanged too


def test_attachments_are_downloads_except_safe_images(client, app):
    setup_desk()
    client.login("referent@vic.cat", factories.PASSWORD)
    client.get("/tickets/new")
    client.submit("/tickets/new", {"subject": "Fitxers", "category": "usage", "body": "Adjunts",
                                   "attachments": [(io.BytesIO(b"<script>alert(1)</script>"), "pagina.html"),
                                                   (io.BytesIO(b"GIF89a"), "foto.gif")]},
                  content_type="multipart/form-data")
    html, gif = db.session.scalars(select(Attachment).order_by(Attachment.id)).all()
    with client.get(f"/attachments/{html.id}/{html.filename}") as response:
        assert response.headers["Content-Type"] == "application/octet-stream"
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert "sandbox" in response.headers["Content-Security-Policy"]
    with client.get(f"/attachments/{gif.id}/{gif.filename}") as response:
        assert response.headers["Content-Type"] == "image/gif"
        assert response.headers["Content-Disposition"].startswith("inline")
    assert app.test_client().get(f"/attachments/{gif.id}/foto.gif").status_code == 302  # anonymous → login


def test_council_user_closes_their_own_ticket(client, app):
    setup_desk()
    client.login("referent@vic.cat", factories.PASSWORD)
    client.get("/tickets/new")
    client.submit("/tickets/new", {"subject": "Ja està", "category": "usage", "body": "Res"})
    number = db.session.scalar(select(Ticket.id))
    assert "Tanca aquest tiquet" in text(client.get(f"/tickets/{number}"))
    assert client.submit(f"/tickets/{number}/close").status_code == 302
    assert db.session.get(Ticket, number).status is TicketStatus.CLOSED
    response = client.submit(f"/tickets/{number}/message", {"reply-body": "Una cosa més"})
    assert response.status_code == 422
    assert db.session.scalar(select(Message).where(Message.body_text == "Una cosa més")) is None


def test_bulk_never_redirects_off_site_and_staff_cannot_post_as_the_council(client, app):
    setup_desk()
    number = factories.ticket(of=db.session.scalar(select(Council))).id
    client.login("agent@example.org", factories.PASSWORD)
    client.get("/inbox")
    response = client.submit("/inbox/bulk", {"tickets": [str(number)], "priority": "high",
                                             "next": "https://evil.example/"})
    assert response.headers["Location"] == "/"
    assert client.submit(f"/tickets/{number}/message", {"reply-body": "hola"}).status_code == 403
    assert client.get("/inbox?q=%C2%B2&council=%C2%B2").status_code == 200


def test_a_stale_fields_form_keeps_the_typing_and_can_be_saved_on_the_second_try(app):
    setup_desk()
    factories.user(Role.AGENT, email="second@example.org")
    number = factories.ticket(of=db.session.scalar(select(Council))).id
    first, second = app.test_client(), app.test_client()
    first.login("agent@example.org", factories.PASSWORD)
    second.login("second@example.org", factories.PASSWORD)
    version = re.search(r'name="fields-version" type="hidden" value="(\d+)"',
                        text(first.get(f"/tickets/{number}"))).group(1)
    second.get(f"/tickets/{number}")
    second.submit(f"/tickets/{number}/assign-to-me")
    form = {"fields-version": version, "fields-subject": "Nou assumpte", "fields-status": "open",
            "fields-priority": "high", "fields-category": "other", "fields-council_id": "",
            "fields-instance_id": "", "fields-assignee_id": ""}
    page = text(first.submit(f"/tickets/{number}/fields", form))
    assert 'value="Nou assumpte"' in page
    newer = re.search(r'name="fields-version" type="hidden" value="(\d+)"', page).group(1)
    assert newer != version
    assert first.submit(f"/tickets/{number}/fields", {**form, "fields-version": newer}).status_code == 302
    assert db.session.get(Ticket, number).subject == "Nou assumpte"


def test_html_bodies_are_sanitised_when_shown(client, app):
    setup_desk()
    ticket = factories.ticket(of=db.session.scalar(select(Council)))
    message = ticket.messages[0]
    message.body_html = '<p>Hola<script>alert("x")</script><img src="https://tracker.example/p.gif"></p>'
    db.session.commit()
    number = ticket.id
    client.login("agent@example.org", factories.PASSWORD)
    page = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "<p>Hola" in page and "alert(" not in page and "tracker.example" not in page
