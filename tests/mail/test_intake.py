"""Incoming mail through the whole pipeline: tickets, threading, automatic mail, nothing lost."""
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy import func, select

from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from helpdesk.mail.intake import ingest, retry
from helpdesk.tickets.models import Attachment, Message, Ticket
from helpdesk.mail.models import HeldMail
from helpdesk.tickets.services import add_message, change_status
from helpdesk.tickets.states import MessageKind, TicketStatus
from tests import factories


def mail(sender="Marta Puigdollers <mpuigdollers@vic.cat>", subject="No puc canviar el logotip",
         body="Bon dia, el logotip nou no surt.", **headers) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, "suportparticipa311@diba.cat", subject
    message["Message-ID"] = headers.pop("message_id", make_msgid(domain="vic.cat"))
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


@pytest.fixture
def vic(app):
    council = factories.council(name="Ajuntament de Vic", domains=["vic.cat"])
    factories.instance(council, url="https://vic.participa311.diba.cat")
    factories.contact(council, name="Marta Puigdollers", email="mpuigdollers@vic.cat", referent=True)
    return council


def outbox():
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_new_mail_opens_a_ticket_for_the_senders_council_and_is_acknowledged(vic):
    outcome = ingest(mail().as_bytes(), "inbox")
    assert outcome.kind == "new_ticket"
    ticket = db.session.get(Ticket, outcome.ticket_id)
    assert ticket.channel.value == "email" and ticket.council == vic
    assert ticket.requester_contact.name == "Marta Puigdollers"
    assert ticket.instance.host == "vic.participa311.diba.cat"
    [ack] = outbox()
    assert ack.subject == f"[Participa311 #{ticket.id}] Rebut: No puc canviar el logotip"
    assert ack.headers["Auto-Submitted"] == "auto-replied" and ack.to_addresses == "mpuigdollers@vic.cat"
    assert "dilluns a divendres" in ack.body_text and "primera resposta abans de:" in ack.body_text
    assert ticket.messages[-1].kind is MessageKind.ACKNOWLEDGEMENT


def test_a_stranger_is_ticketed_without_a_council_and_acknowledged_once_in_ten_minutes(app):
    first = ingest(mail(sender="veina@gmail.com", subject="Una pregunta").as_bytes(), "inbox")
    second = ingest(mail(sender="veina@gmail.com", subject="Una altra").as_bytes(), "inbox")
    assert first.kind == second.kind == "new_ticket"
    assert db.session.get(Ticket, first.ticket_id).council is None
    assert len(outbox()) == 1  # one acknowledgement per sender per ten minutes


def test_the_same_message_twice_is_stored_once_even_without_a_message_id(app):
    raw = mail(message_id="<once@vic.cat>").as_bytes()
    assert ingest(raw, "inbox").kind == "new_ticket"
    assert ingest(raw, "inbox").kind == "duplicate"
    bare = mail(subject="Sense identificador")
    del bare["Message-ID"]
    assert ingest(bare.as_bytes(), "inbox").kind == "new_ticket"
    assert ingest(bare.as_bytes(), "inbox").kind == "duplicate"
    assert db.session.scalar(select(func.count(Ticket.id))) == 2


def test_replies_thread_by_headers_by_our_message_id_and_by_the_subject_tag(vic):
    agent = factories.user(Role.AGENT)
    ticket = db.session.get(Ticket, ingest(mail(message_id="<first@vic.cat>").as_bytes(), "inbox").ticket_id)
    reply = add_message(agent, ticket, MessageKind.REPLY, "Quin format té?", utcnow(), new_status=TicketStatus.PENDING)
    db.session.commit()
    assert reply.message_id.startswith(f"<p311.{ticket.id}.")
    sent = db.session.scalar(select(OutboxMessage).where(OutboxMessage.message_id == reply.message_id))
    assert sent.headers["In-Reply-To"] == "<first@vic.cat>" and sent.subject.startswith(f"[Participa311 #{ticket.id}]")
    answer = mail(subject="Re: el logotip", In_Reply_To=reply.message_id, References=reply.message_id)
    assert ingest(answer.as_bytes(), "inbox").ticket_id == ticket.id
    assert db.session.get(Ticket, ticket.id).status is TicketStatus.OPEN  # the requester answered
    trimmed = mail(subject="Re: res", References=f"<p311.{ticket.id}.0000000000000000@diba.cat>")
    assert ingest(trimmed.as_bytes(), "inbox").ticket_id == ticket.id  # an id we never stored, but ours
    tagged = mail(subject=f"Una cosa més [Participa311 #{ticket.id}]")
    assert ingest(tagged.as_bytes(), "inbox").ticket_id == ticket.id


def test_a_subject_tag_from_a_stranger_opens_a_new_ticket_that_names_the_old_one(vic):
    ticket_id = ingest(mail().as_bytes(), "inbox").ticket_id
    outcome = ingest(mail(sender="altre@gmail.com", subject=f"Re: [#{ticket_id}] vull veure-ho").as_bytes(), "inbox")
    assert outcome.kind == "new_ticket" and outcome.ticket_id != ticket_id
    assert f"[#{ticket_id}]" in db.session.get(Ticket, outcome.ticket_id).messages[0].body_text


def test_auto_replies_never_open_tickets_and_do_not_reopen_on_a_thread(vic):
    outcome = ingest(mail(subject="Fora de l'oficina", Auto_Submitted="auto-replied").as_bytes(), "inbox")
    assert outcome.kind == "filtered"
    held = db.session.scalar(select(HeldMail))
    assert held.kind == "filtered" and "auto-replied" in held.reason
    ticket_id = ingest(mail(message_id="<start@vic.cat>").as_bytes(), "inbox").ticket_id
    agent = factories.user(Role.AGENT)
    ticket = db.session.get(Ticket, ticket_id)
    change_status(agent, ticket, TicketStatus.RESOLVED, utcnow())
    db.session.commit()
    sent = len(outbox())  # the acknowledgement, and the resolution's rating question
    away = mail(subject="Automatic reply: res", In_Reply_To="<start@vic.cat>", X_Autoreply="yes")
    assert ingest(away.as_bytes(), "inbox").kind == "follow_up"
    ticket = db.session.get(Ticket, ticket_id)
    assert ticket.status is TicketStatus.RESOLVED and ticket.messages[-1].kind is MessageKind.AUTO_REPLY
    assert sent == 2 and len(outbox()) == sent  # nothing answers machines


def test_a_bounce_of_our_reply_marks_it_undelivered_and_tells_the_assignee(vic):
    agent = factories.user(Role.AGENT, email="agent@example.org")
    ticket = db.session.get(Ticket, ingest(mail().as_bytes(), "inbox").ticket_id)
    ticket.assignee_id = agent.id
    reply = add_message(agent, ticket, MessageKind.REPLY, "Prova-ho ara", utcnow())
    db.session.commit()
    bounce = EmailMessage()
    bounce["From"], bounce["To"] = "MAILER-DAEMON@mx.vic.cat", "suportparticipa311@diba.cat"
    bounce["Subject"], bounce["Message-ID"] = "Undelivered Mail Returned to Sender", "<bounce1@mx.vic.cat>"
    bounce.set_content("This is the mail system. The mailbox is full.")
    original = EmailMessage()
    original["Message-ID"], original["Subject"] = reply.message_id, "Re: res"
    original.set_content("Prova-ho ara")
    bounce.add_attachment(original)
    assert ingest(bounce.as_bytes(), "inbox").ticket_id == ticket.id
    assert db.session.get(Message, reply.id).bounced_at is not None
    assert any(item.to_addresses == "agent@example.org" for item in outbox())
    assert db.session.get(Ticket, ticket.id).messages[-1].kind is MessageKind.BOUNCE


def test_mail_from_the_desk_itself_never_loops(app):
    echo = mail(sender="suportparticipa311@diba.cat", subject="[Participa311 #999] Rebut: res")
    assert ingest(echo.as_bytes(), "inbox").kind == "filtered"
    assert outbox() == []


def test_html_only_mail_gets_text_sanitised_html_and_inline_images(vic):
    message = EmailMessage()
    message["From"], message["Subject"], message["Message-ID"] = "mpuigdollers@vic.cat", "Captura", "<h@vic.cat>"
    message.set_content('<p>Mireu la <b>captura</b>:</p><img src="cid:shot1"><script>alert(1)</script>', subtype="html")
    message.add_related(b"\x89PNG fake", maintype="image", subtype="png", cid="<shot1>", filename="captura.png")
    ticket = db.session.get(Ticket, ingest(message.as_bytes(), "inbox").ticket_id)
    first = ticket.messages[0]
    assert "Mireu la captura" in first.body_text
    attachment = db.session.scalar(select(Attachment))
    assert f'src="/attachments/{attachment.id}/captura.png"' in first.body_html
    assert "<script" not in first.body_html


def test_rfc2231_names_and_broken_charsets_are_decoded():
    from helpdesk.mail.parsing import parse
    raw = (b"From: =?iso-8859-1?q?Jos=E9?= <jose@vic.cat>\nSubject: =?us-ascii?q?Caf=E9?=\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/mixed; boundary=X\n\n--X\nContent-Type: text/plain; charset=iso-8859-1\n\n"
           b"Pressupost participatiu: acci\xf3\n--X\nContent-Type: application/pdf\n"
           b"Content-Disposition: attachment; filename*=UTF-8''acta%20de%20la%20sessi%C3%B3.pdf\n\n%PDF\n")
    parsed = parse(raw)
    assert parsed.from_name == "José" and parsed.subject == "Café"
    assert "acció" in parsed.text
    assert [item.filename for item in parsed.attachments] == ["acta de la sessió.pdf"]


def test_an_oversized_or_broken_message_is_quarantined_whole_and_can_be_retried(vic, app):
    app.config["MAIL_MAX_BYTES"] = 2000
    big = mail(body="x" * 5000)
    assert ingest(big.as_bytes(), "inbox").kind == "quarantined"
    held = db.session.scalar(select(HeldMail))
    assert held.kind == "quarantined" and "larger than" in held.reason and held.size == len(big.as_bytes())
    app.config["MAIL_MAX_BYTES"] = 25 * 1024 * 1024
    assert retry(held).kind == "new_ticket"
    assert db.session.get(HeldMail, held.id).status == "retried"
