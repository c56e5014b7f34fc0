"""Mail the desk sends about tickets: acknowledgements of new e-mail tickets and replies to requesters, the
bounce notice to the agent, outage notices to the technicians and SLA warnings to agents.

Everything goes through the outbox (sent after commit), as templates (``templates/emails/tickets/``) rendered
in the recipient's language. Outgoing Message-IDs carry the ticket number, so a reply threads even when the
requester's client trims In-Reply-To and References; every message carries ``X-Helpdesk-Loop`` so that the
desk never treats its own mail, bounced back, as a new request.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import func, select

from helpdesk.core import emails
from helpdesk.core.outbox import queue_mail
from helpdesk.core.urls import base_url
from helpdesk.councils.models import Contact
from helpdesk.councils import recipients
from helpdesk.extensions import db
from helpdesk.sla.hours import support_hours
from helpdesk.tickets import replies
from helpdesk.tickets.models import Message, Ticket
from helpdesk.tickets.states import LABELS, MessageKind, Priority

ACK_INTERVAL = timedelta(minutes=10)  # at most one acknowledgement per sender in this time
LOOP_HEADER = "X-Helpdesk-Loop"
BOUNCE_REPORT_LENGTH = 2000  # of the bounce's text, in the notice to the agent
#: Sent while writing an acknowledgement (sender: the ticket; ``links``: a list to add (title, URL) pairs
#: to; ``language``: the acknowledgement's): the knowledge base adds the articles that match the subject.
acknowledgement_links = Namespace().signal("acknowledgement-links")
#: Sent while writing a reply to the requester (sender: the ticket; ``context``: the template's values, to add
#: to): satisfaction adds the rating's links while the ticket is resolved.
reply_context = Namespace().signal("reply-context")
_OUR_ID = re.compile(r"<p311\.(\d+)\.[0-9a-f]+@", re.IGNORECASE)
_SAMPLE_TIME = datetime(2026, 11, 24, 8, 30, tzinfo=timezone.utc)  # a Tuesday morning, for the previews


def desk_domain() -> str:
    return current_app.config["SUPPORT_EMAIL"].rpartition("@")[2]


def desk_addresses() -> set[str]:
    aliases = re.split(r"[\s,;]+", current_app.config["MAIL_ALIASES"] or "")
    return {address.lower() for address in [current_app.config["SUPPORT_EMAIL"], *aliases] if address}


def new_message_id(ticket: Ticket) -> str:
    """A Message-ID that names the ticket: <p311.123.9f1c…@diba.cat>."""
    return f"<p311.{ticket.id}.{secrets.token_hex(8)}@{desk_domain()}>"


def ticket_from_message_id(message_id: str) -> int | None:
    match = _OUR_ID.match(message_id or "")
    return int(match.group(1)) if match else None


def subject_tag(ticket: Ticket) -> str:
    """The ticket's tag in subjects: "[Participa311 #123]" ("[#123]" without a MAIL_SUBJECT_TAG)."""
    return f"[{current_app.config['MAIL_SUBJECT_TAG']} #{ticket.id}]".replace("[ #", "[#")


def untagged(ticket: Ticket, subject: str | None = None) -> str:
    """The subject (the ticket's by default) without this ticket's tag, wherever it was."""
    pattern = r"\[(?:" + re.escape(current_app.config["MAIL_SUBJECT_TAG"]) + r"\s*)?#(\d+)\]\s*"
    return re.sub(pattern, lambda match: "" if match.group(1) == str(ticket.id) else match.group(0),
                  subject or ticket.subject, flags=re.IGNORECASE).strip()


def tagged_subject(ticket: Ticket, subject: str | None = None) -> str:
    """The subject with the ticket's tag: "[Participa311 #123] …" (the tag is not repeated)."""
    return f"{subject_tag(ticket)} {untagged(ticket, subject)}"


def ticket_url(ticket: Ticket) -> str:
    return f"{base_url()}/tickets/{ticket.id}"


def _thread_headers(ticket: Ticket, messages: list[Message] | None = None) -> dict[str, str]:
    messages = ticket.messages if messages is None else messages
    ids = [message.message_id for message in messages if message.message_id]
    headers = {LOOP_HEADER: desk_domain()}
    inbound = [message.message_id for message in messages
               if message.message_id and message.kind is MessageKind.INBOUND]
    if inbound:
        headers["In-Reply-To"] = inbound[-1]
    if ids:
        headers["References"] = " ".join(ids[-20:])
    return headers


def _requester_language(ticket: Ticket) -> str:
    contact = ticket.requester_contact
    if contact is None and ticket.requester_contact_id is not None:  # a ticket built for a batch, not loaded
        contact = db.session.get(Contact, ticket.requester_contact_id)
    return recipients.language_of(ticket.requester_email, contact=contact)


# --- to the requester ----------------------------------------------------------------------------------

def _sample_ticket() -> dict[str, Any]:
    base = base_url()
    return {"tag": f"[{current_app.config['MAIL_SUBJECT_TAG']} #1234]".replace("[ #", "[#"), "reference": "#1234",
            "ticket_subject": "No puc canviar el logotip de la plataforma", "ticket_url": f"{base}/tickets/1234"}


_SAMPLE_REPLY = ("Bon dia Marta,\n\nEl logotip es canvia des del tauler d'administració: **Configuració > Aparença**.\n\n"
                 "- Feu servir un PNG de 600 × 160 píxels com a màxim.\n- Deseu els canvis.\n\nSalutacions,")
REPLY = emails.register(
    "tickets/reply", trigger=_l("An agent replies to a ticket"), recipients=_l("The ticket's requester"),
    sample=lambda: {**_sample_ticket(), "agent_name": "Laia Serra", "body": _SAMPLE_REPLY,
                    "body_html": Markup(replies.to_html(_SAMPLE_REPLY)), "signed": False})
ACKNOWLEDGEMENT = emails.register(
    "tickets/acknowledgement", trigger=_l("A new ticket arrives by e-mail (at most once per sender every ten "
                                          "minutes)"),
    recipients=_l("The sender of the e-mail"),
    sample=lambda: {**_sample_ticket(), "due": _SAMPLE_TIME + timedelta(hours=4),
                    "links": [("Com canvio el logotip i l'adreça?",
                               f"{base_url()}/faq/logotip-i-adreca")]})


def send_reply(message: Message) -> None:
    """E-mail a reply to the ticket's requester (with its attachments); its Message-ID names the ticket.
    The agent's words are sent as written, wrapped in the requester's language: the Markdown as the plain-text
    part, its rendering (the message's sanitised HTML) as the HTML part."""
    ticket = message.ticket
    if not ticket.requester_email:
        return
    headers = _thread_headers(ticket)
    message.message_id = new_message_id(ticket)
    context = {
        "tag": subject_tag(ticket), "ticket_subject": untagged(ticket), "reference": ticket.reference,
        "body": message.body_text, "body_html": Markup(message.body_html), "signed": replies.is_signed(message.body_text),
        "agent_name": message.from_name}
    reply_context.send(ticket, context=context)
    recipients.send(REPLY, _requester_language(ticket), [ticket.requester_email], context, headers=headers,
        message_id=message.message_id, related=message,
        attachments=[{"filename": item.filename, "content_type": item.content_type, "sha256": item.sha256}
                     for item in message.attachments])


def acknowledge(ticket: Ticket, now: datetime) -> Message | None:
    """Tell the sender of a new e-mail ticket that it arrived: its number, the support hours, when to
    expect an answer. Never to the desk itself, and at most once per sender every ten minutes."""
    return acknowledge_all([ticket], now).get(ticket.id)


def acknowledge_all(tickets: list[Ticket], now: datetime) -> dict[int, Message]:
    """``acknowledge`` each of these new tickets (which have their numbers), in order, the ten minutes
    counted across them too; their acknowledgements by ticket number."""
    desk = desk_addresses()
    addresses = {(ticket.requester_email or "").lower() for ticket in tickets} - desk - {""}
    recent = recently_acknowledged(sorted(addresses), now) if addresses else set()
    recipients.languages_of(addresses)  # asked once for them all (then kept for the transaction)
    written: dict[int, tuple[Message, dict[str, Any]]] = {}
    for ticket in tickets:
        address = (ticket.requester_email or "").lower()
        if address and address not in desk and address not in recent:
            recent.add(address)
            written[ticket.id] = acknowledgement(ticket, now)
            db.session.add(written[ticket.id][0])
    if written:
        db.session.flush()  # the acknowledgements' ids, for the outbox to show their delivery on them
    for message, outgoing in written.values():
        queue_mail(**outgoing, related=message)
    return {number: message for number, (message, _) in written.items()}


def recently_acknowledged(addresses: list[str], now: datetime) -> set[str]:
    """Which of these (lower-case) addresses had an acknowledgement in the last ten minutes."""
    with db.session.no_autoflush:  # (the pending rows of a new ticket are no acknowledgement)
        # Acknowledgements are written to one lower-case address: the partial index on them answers this.
        return set(db.session.scalars(select(Message.to_addresses).where(
            Message.kind == MessageKind.ACKNOWLEDGEMENT, Message.to_addresses.in_(addresses),
            Message.created_at > now - ACK_INTERVAL)))


def acknowledgement(ticket: Ticket, now: datetime) -> tuple[Message, dict[str, Any]]:
    """The acknowledgement of ``ticket`` (which has its number) to its requester, in the requester's language,
    not yet in the session, and what ``queue_mail`` needs to send it."""
    address = ticket.requester_email.lower()
    config = current_app.config
    language = _requester_language(ticket)
    links: list[tuple[str, str]] = []
    acknowledgement_links.send(ticket, links=links, language=language)
    rendered = ACKNOWLEDGEMENT.render(language, {
        "tag": subject_tag(ticket), "ticket_subject": untagged(ticket), "reference": ticket.reference,
        "due": ticket.first_response_due_at, "links": links}, hours=support_hours(language))
    # It answers the message that opened the ticket (others may have joined it since, in the same chunk).
    headers = {**_thread_headers(ticket, ticket.messages[:1]), "Auto-Submitted": "auto-replied",
               "X-Auto-Response-Suppress": "All"}
    message = Message(ticket=ticket, kind=MessageKind.ACKNOWLEDGEMENT, body_text=rendered.text, created_at=now,
                      from_name=config["MAIL_FROM_NAME"], from_address=config["SUPPORT_EMAIL"],
                      to_addresses=address, subject=rendered.subject, message_id=new_message_id(ticket))
    return message, {"to": [address], "subject": rendered.subject, "body_text": rendered.text,
                     "body_html": rendered.html, "headers": headers, "message_id": message.message_id}


# --- to the staff ----------------------------------------------------------------------------------------

REPLY_BOUNCED = emails.register(
    "tickets/reply_bounced", trigger=_l("A reply to a requester comes back undelivered"),
    recipients=_l("The ticket's agent"),
    sample=lambda: {**_sample_ticket(), "report": "This is the mail system at host mx.vic.cat.\n\n"
                    "<mpuigdollers@vic.cat>: host mx.vic.cat said: 552 5.2.2 Mailbox full"})
OUTAGE = emails.register(
    "tickets/outage", trigger=_l("The monitor finds a platform down (it opens an outage ticket)"),
    recipients=_l("Every active technician"),
    sample=lambda: {**_sample_ticket(), "host": "participa.vic.cat", "council": "Ajuntament de Vic", "failures": 3,
                    "since": _SAMPLE_TIME, "error": "ConnectTimeout: timed out"})
SLA_AT_RISK = emails.register(
    "tickets/sla_at_risk", template="tickets/sla_warning",
    trigger=_l("A ticket has used most of its first-response or resolution time"),
    recipients=_l("The ticket's agent (every agent while nobody has it)"),
    sample=lambda: {**_sample_ticket(), "breached": False, "clock": "first_response", "council": "Ajuntament de Vic",
                    "priority": LABELS[Priority][Priority.HIGH], "assignee": "Laia Serra"})
SLA_BREACHED = emails.register(
    "tickets/sla_breached", template="tickets/sla_warning",
    trigger=_l("A ticket's first-response or resolution target passes"),
    recipients=_l("The ticket's agent (every agent while nobody has it); technicians too for an outage"),
    sample=lambda: {**_sample_ticket(), "breached": True, "clock": "resolution", "council": "Ajuntament de Vic",
                    "priority": LABELS[Priority][Priority.URGENT], "assignee": ""})


def tell_reply_bounced(ticket: Ticket, report: str) -> None:
    """Tell the ticket's agent that a reply came back undelivered (``report``: the bounce's text)."""
    if ticket.assignee is None or not ticket.assignee.is_active:
        return
    recipients.send_to_each(REPLY_BOUNCED, [ticket.assignee.email], {
        "reference": ticket.reference, "ticket_subject": untagged(ticket), "ticket_url": ticket_url(ticket),
        "report": report[:BOUNCE_REPORT_LENGTH].strip()},
        headers={"Auto-Submitted": "auto-generated", LOOP_HEADER: desk_domain()}, domain=desk_domain(), related=ticket)


def tell_outage(ticket: Ticket, technicians: Iterable[str], *, host: str, council: str, failures: int,
                since: datetime, error: str) -> None:
    """Tell the technicians (their addresses) that a platform is down (``ticket``: its outage ticket)."""
    recipients.send_to_each(OUTAGE, technicians, {
        "reference": ticket.reference, "ticket_url": ticket_url(ticket), "host": host, "council": council,
        "failures": failures, "since": since, "error": error}, headers={"Auto-Submitted": "auto-generated"},
        related=ticket)


def tell_sla(ticket: Ticket, clock_name: str, breached: bool, users: Iterable[str]) -> None:
    """Warn ``users`` (their addresses) that a clock of ``ticket`` is at risk or has breached (``clock_name``:
    first_response or resolution), each in their own language (the priority's label is lazy: it reads in each)."""
    recipients.send_to_each(SLA_BREACHED if breached else SLA_AT_RISK, users, {
        "reference": ticket.reference, "ticket_subject": ticket.subject, "ticket_url": ticket_url(ticket),
        "breached": breached, "clock": clock_name, "council": ticket.council.name if ticket.council else "",
        "priority": LABELS[Priority][ticket.priority], "assignee": ticket.assignee.name if ticket.assignee else ""},
        one_each=True, headers={"Auto-Submitted": "auto-generated"}, domain=desk_domain(), related=ticket)
