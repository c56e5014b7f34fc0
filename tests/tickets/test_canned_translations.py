"""Canned replies in Catalan, Spanish and English: the administrator writes each, the agent picks one by its
title in their own language, and the text goes in in the requester's language (Catalan when not written)."""
import html
import re

from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.tickets.canned import CannedReplyText, save_canned_reply
from helpdesk.tickets.models import CannedReply, Message
from helpdesk.tickets.states import MessageKind
from tests import factories
from tests.pages import error_after, text

GREETING = {
    "title": "Salutació", "body": "Bon dia {requester_name}, mirem el tiquet {ticket_number}.",
    "title_es": "Saludo", "body_es": "Buenos días, {requester_name}: miramos el tique {ticket_number}.",
    "title_en": "Greeting", "body_en": "Hello {requester_name}, we are looking at ticket {ticket_number}.",
    "is_active": "y",
}


def signed_in(app, role: Role, language: str):
    client = app.test_client()
    email = f"{role.value}-{language}@example.org"
    factories.user(role, email=email, language=language)
    client.login(email, factories.PASSWORD)
    return client


def write_greeting(app, client=None, **changes):
    client = client or signed_in(app, Role.ADMIN, "ca")
    client.get("/admin/canned-replies/new")
    return client, client.submit("/admin/canned-replies/new", {**GREETING, **changes})


def requester(language: str | None) -> tuple[int, str]:
    """A ticket from a council contact who reads ``language`` (None: a stranger): (number, requester e-mail)."""
    council = factories.council()
    contact = factories.contact(council, name="Núria Pla", email=f"nuria-{language}@vic.cat")
    if language:
        contact.language = language
        db.session.commit()
    ticket = factories.ticket(of=council, requester_contact_id=contact.id, requester_name="Núria Pla",
                              requester_email=contact.email)
    return ticket.number, contact.email


def picker(page: str) -> dict[str, str]:
    """The canned reply picker's options: shown title → the text it fills in."""
    return {html.unescape(label): html.unescape(filled) for filled, label in re.findall(
        r'<option value="\d+"\s*data-text="([^"]*)">([^<]+)</option>', page)}


def test_an_administrator_writes_a_reply_in_three_languages(app):
    client, response = write_greeting(app)
    assert response.status_code == 302
    reply = db.session.scalar(select(CannedReply).where(CannedReply.title == "Salutació"))
    assert {item.language: item.title for item in reply.translations} == {"es": "Saludo", "en": "Greeting"}
    form = text(client.get(f"/admin/canned-replies/{reply.id}"))
    assert 'value="Saludo"' in form and "we are looking at ticket" in form
    assert "Greeting" in text(signed_in(app, Role.ADMIN, "en").get("/admin/canned-replies/"))
    assert "Saludo" in text(signed_in(app, Role.ADMIN, "es").get("/admin/canned-replies/"))


def test_the_agent_picks_by_their_language_and_the_text_is_in_the_requesters(app):
    write_greeting(app)
    number, _ = requester("es")
    options = picker(signed_in(app, Role.AGENT, "en").get(f"/tickets/{number}").get_data(as_text=True))
    assert options == {"Greeting": f"Buenos días, Núria Pla: miramos el tique #{number}."}


def test_a_language_the_reply_lacks_falls_back_to_catalan(app):
    write_greeting(app, title_en="", body_en="")
    number, _ = requester("en")
    options = picker(signed_in(app, Role.AGENT, "en").get(f"/tickets/{number}").get_data(as_text=True))
    assert options == {"Salutació": f"Bon dia Núria Pla, mirem el tiquet #{number}."}
    stranger, _ = requester(None)  # nobody knows their language: the desk's default, Catalan
    options = picker(signed_in(app, Role.AGENT, "es").get(f"/tickets/{stranger}").get_data(as_text=True))
    assert options == {"Saludo": f"Bon dia Núria Pla, mirem el tiquet #{stranger}."}


def test_a_reply_sent_as_it_is_goes_in_the_requesters_language(app):
    write_greeting(app)
    number, _ = requester("en")
    reply_id = db.session.scalar(select(CannedReply.id).where(CannedReply.title == "Salutació"))
    agent = signed_in(app, Role.AGENT, "es")
    agent.get(f"/tickets/{number}")
    response = agent.submit(f"/tickets/{number}/reply", {"reply-body": "", "reply-canned_reply_id": reply_id,
                                                          "reply-then": ""})
    assert response.status_code == 302
    sent = db.session.scalar(select(Message).where(Message.kind == MessageKind.REPLY))
    assert sent.body_text == f"Hello Núria Pla, we are looking at ticket #{number}."


def test_half_a_translation_or_an_unknown_placeholder_is_refused_next_to_it(app):
    client, response = write_greeting(app, body_es="")
    assert response.status_code == 422 and error_after(text(response), "body_es")
    _, response = write_greeting(app, client, body_en="Hello {name}")
    assert response.status_code == 422 and "{name}" in error_after(text(response), "body_en")
    assert db.session.scalar(select(CannedReply.id)) is None


def test_a_translation_emptied_is_taken_away_and_the_trail_says_so(app):
    client, _ = write_greeting(app)
    reply_id = db.session.scalar(select(CannedReply.id).where(CannedReply.title == "Salutació"))
    client.get(f"/admin/canned-replies/{reply_id}")
    assert client.submit(f"/admin/canned-replies/{reply_id}",
                         {**GREETING, "title_en": "", "body_en": ""}).status_code == 302
    assert db.session.scalars(select(CannedReplyText.language)).all() == ["es"]
    assert "Title (English)" in text(signed_in(app, Role.ADMIN, "en").get(f"/admin/canned-replies/{reply_id}"))


def test_the_demo_replies_gain_their_translations_and_keep_an_administrators_edit(app):
    from helpdesk.demo import CANNED_REPLIES, seed
    title, body, _ = CANNED_REPLIES[0]
    save_canned_reply(None, title, body, True, translations={"es": ("El meu títol", "El meu text")})
    db.session.commit()
    seed()
    seed()  # safe to re-run
    db.session.commit()
    reply = db.session.scalar(select(CannedReply).where(CannedReply.title == title))
    texts = {item.language: item.title for item in reply.translations}
    assert texts == {"es": "El meu títol", "en": "Request received"}
