"""Replies in Markdown: the requester's mail has a sanitised HTML part and the text itself as the plain part, the
agent's signature below "-- ", a preview for staff only, canned replies filled in, pasted images attached; and a
reply that no mail server will take says so instead of "queued" for ever."""
import base64
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage, deliver_pending
from helpdesk.extensions import db
from helpdesk.tickets.canned import save_canned_reply
from helpdesk.tickets.models import Attachment, CannedReply, Message, Ticket
from helpdesk.tickets.services import add_message
from helpdesk.tickets.states import MessageKind
from tests import factories
from tests.core.test_emails import part_of, smtp  # noqa: F401 (a real SMTP server on loopback)
from tests.pages import error_after, text

NOW = utcnow()
WRITTEN = ("Bon dia,\n\n**Important**: feu servir un PNG.\n\n- Configuració\n- Aparença\n\n"
           "> Ens surt un error\n\nMés a [la FAQ](https://suport.example.org/faq/logotip) o "
           "https://suport.example.org/faq.\n\n<script>alert('x')</script> [res](javascript:alert(1))")


@pytest.fixture
def desk(app):
    vic = factories.council(name="Ajuntament de Vic", domains=["vic.cat"])
    factories.instance(vic, url="https://vic.participa311.diba.cat")
    agent = factories.user(Role.AGENT, email="laia@diba.cat", language="en")
    agent.name = "Laia Serra"
    factories.user(Role.ADMIN, email="admin@diba.cat", language="en")
    factories.user(Role.COUNCIL_USER, of=vic, email="marta@vic.cat", language="en")
    ticket = factories.ticket("El logotip", "No canvia.", of=vic, requester_name="Marta Puigdollers",
                              requester_email="marta@vic.cat")
    return ticket.id


def laia():
    return db.session.scalar(select(User).where(User.email == "laia@diba.cat"))


def sent_for(message: Message) -> OutboxMessage:
    return db.session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == message.message_id))


def test_markdown_becomes_a_sanitised_html_part_and_the_text_stays_the_plain_part(app, desk, smtp):  # noqa: F811
    inbox, settings = smtp
    reply = add_message(laia(), db.session.get(Ticket, desk), MessageKind.REPLY, WRITTEN, NOW)
    db.session.commit()
    html = sent_for(reply).body_html
    assert "<strong>Important</strong>" in html and "<li>Configuració</li>" in html
    assert "<blockquote>" in html and '<a href="https://suport.example.org/faq/logotip"' in html
    assert '<a href="https://suport.example.org/faq"' in html  # a bare address is a link too
    assert "<script" not in html and 'href="javascript' not in html and "&lt;script&gt;" in html
    assert deliver_pending(settings).sent == 1
    [(_, message, _)] = [item for item in inbox.received if item[1]["Message-ID"] == reply.message_id]
    plain = part_of(message, "text/plain").replace("\r\n", "\n")
    assert plain.startswith(WRITTEN.split("<script>")[0])  # the Markdown as written: it reads as it is
    assert "Laia Serra" in plain  # signed with the agent's name when there is no signature
    assert "<strong>Important</strong>" in part_of(message, "text/html")
    # the ticket page shows the reply as the requester reads it
    assert "<strong>Important</strong>" in reply.body_html


def test_the_signature_is_added_below_the_reply_in_the_mail_and_on_the_ticket(client, desk):
    client.login("laia@diba.cat", factories.PASSWORD)
    page = text(client.get("/account"))
    assert "Reply signature" in page
    response = client.submit("/account", {"signature-signature": "x" * 2001, "signature-save": "1"})
    assert error_after(text(response), "signature-signature")
    assert laia().signature == ""
    response = client.submit("/account", {"signature-signature": "Laia Serra\r\n**Suport Participa311**\r\n934 020 704",
                                          "signature-save": "1"})
    assert response.status_code == 302 and laia().signature == "Laia Serra\n**Suport Participa311**\n934 020 704"
    client.get(f"/tickets/{desk}")
    client.submit(f"/tickets/{desk}/reply", {"reply-body": "Ja està solucionat.", "reply-then": ""})
    reply = db.session.scalar(select(Message).where(Message.kind == MessageKind.REPLY))
    assert reply.body_text == "Ja està solucionat.\n\n-- \nLaia Serra\n**Suport Participa311**\n934 020 704"
    assert "<strong>Suport Participa311</strong>" in reply.body_html and "Laia Serra<br>" in reply.body_html
    sent = sent_for(reply)
    assert sent.body_text.startswith(reply.body_text + "\n\n")
    assert sent.body_text.count("Laia Serra") == 1  # the signature replaces the name line below the reply
    assert "<strong>Suport Participa311</strong>" in sent.body_html


def test_council_users_have_no_signature_to_set(client, desk):
    client.login("marta@vic.cat", factories.PASSWORD)
    assert "Reply signature" not in text(client.get("/account"))


def test_the_preview_renders_as_sent_with_the_signature_for_staff_only(client, desk):
    laia().signature = "Laia"
    db.session.commit()
    client.login("laia@diba.cat", factories.PASSWORD)
    page = text(client.get(f"/tickets/{desk}"))
    assert "Preview" in page and "replies.js" in page
    headers = {"X-CSRFToken": client.csrf_token}
    response = client.post(f"/tickets/{desk}/reply/preview", json={"body": WRITTEN}, headers=headers)
    assert response.status_code == 200
    html = response.get_json()["html"]
    assert "<strong>Important</strong>" in html and "<script" not in html and html.endswith("<p>--<br>\nLaia</p>")
    assert client.post(f"/tickets/{desk}/reply/preview", json={"body": WRITTEN}).status_code == 400  # no token
    assert client.post(f"/tickets/{desk}/reply/preview", json={"body": 3}, headers=headers).status_code == 400
    assert client.post(f"/tickets/{desk}/reply/preview", json={"body": "x" * 100_001},
                       headers=headers).status_code == 400
    assert client.post("/tickets/999999/reply/preview", json={"body": "x"}, headers=headers).status_code == 404
    client.post("/logout", data={"csrf_token": client.csrf_token})
    client.login("marta@vic.cat", factories.PASSWORD)
    client.get(f"/tickets/{desk}")
    response = client.post(f"/tickets/{desk}/reply/preview", json={"body": "x"},
                           headers={"X-CSRFToken": client.csrf_token})
    assert response.status_code == 403
    assert db.session.scalar(select(Message).where(Message.kind == MessageKind.REPLY)) is None


def test_a_canned_reply_is_filled_in_formatted_and_signed(client, desk):
    save_canned_reply(None, "Logotip", "Bon dia **{requester_name}**,\n\n- Configuració > Aparença\n- {ticket_number}",
                      True)
    laia().signature = "Laia Serra"
    db.session.commit()
    canned_id = db.session.scalar(select(CannedReply.id))
    client.login("laia@diba.cat", factories.PASSWORD)
    page = text(client.get(f"/tickets/{desk}"))
    assert "Bon dia **Marta Puigdollers**" in page  # what the picker puts in the reply box
    client.submit(f"/tickets/{desk}/reply", {"reply-body": "", "reply-canned_reply_id": str(canned_id),
                                             "reply-then": ""})
    reply = db.session.scalar(select(Message).where(Message.kind == MessageKind.REPLY))
    assert reply.body_text == f"Bon dia **Marta Puigdollers**,\n\n- Configuració > Aparença\n- #{desk}\n\n-- \nLaia Serra"
    assert "<strong>Marta Puigdollers</strong>" in reply.body_html and f"<li>#{desk}</li>" in reply.body_html


@pytest.mark.parametrize("smtp_host", ["", "mail.diba.cat"])
def test_a_queued_reply_says_when_no_mail_server_is_configured(app, client, desk, smtp_host):
    app.config["SMTP_HOST"] = smtp_host
    add_message(laia(), db.session.get(Ticket, desk), MessageKind.REPLY, "Ho mirem.", NOW)
    db.session.commit()
    client.login("admin@diba.cat", factories.PASSWORD)
    page = text(client.get(f"/tickets/{desk}"))
    state = re.search(r'<span class="delivery delivery-pending"[^>]*>([^<]+)</span>(.{0,200})', page, re.S)
    if smtp_host:
        assert state.group(1) == "queued" and "/admin/status" not in state.group(2)
    else:
        assert state.group(1) == "not sent: no mail server is configured"
        assert 'href="/admin/status"' in state.group(2)  # where an administrator sets it up
        client.post("/logout", data={"csrf_token": client.csrf_token})
        client.login("laia@diba.cat", factories.PASSWORD)
        page = text(client.get(f"/tickets/{desk}"))
        state = re.search(r'<span class="delivery delivery-pending"[^>]*>([^<]+)</span>(.{0,200})', page, re.S)
        assert state.group(1) == "not sent: no mail server is configured"
        assert "/admin/status" not in state.group(2)  # an agent cannot open it


# --- in the browser ------------------------------------------------------------------------------------

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==")


def test_a_pasted_image_becomes_an_attachment_and_the_preview_shows_the_formatting(app, live_server, browser, desk):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/login")
    page.get_by_label("Correu electrònic").fill("laia@diba.cat")  # the sign-in page is in the desk's language
    page.get_by_label("Contrasenya").fill(factories.PASSWORD)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/tickets/{desk}")
    box = page.get_by_label("Reply", exact=True)
    box.fill("Mireu la **captura**:\n\n- pas 1")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".reply-preview strong")).to_have_text("captura")
    expect(page.locator(".reply-preview li")).to_have_text("pas 1")
    # a screenshot pasted into the reply box, as the clipboard hands it over
    box.evaluate("""(box, bytes) => {
        const data = new DataTransfer();
        data.items.add(new File([new Uint8Array(bytes)], "image.png", { type: "image/png" }));
        box.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
    }""", list(PNG))
    expect(page.locator(".pasted")).to_have_text("Attached: pasted-image-1.png")
    page.get_by_role("button", name="Send reply").click()
    expect(page.locator("ol.thread")).to_contain_text("pasted-image-1.png")
    reply = db.session.scalar(select(Message).where(Message.kind == MessageKind.REPLY))
    [attachment] = db.session.scalars(select(Attachment).where(Attachment.message_id == reply.id)).all()
    assert attachment.filename == "pasted-image-1.png" and attachment.content_type == "image/png"
    assert attachment.size == len(PNG)
    assert errors == []
    context.close()
