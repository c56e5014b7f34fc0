"""Mail the desk sends about tickets: replies to requesters and acknowledgements of new e-mail tickets.

Everything goes through the outbox (sent after commit). Outgoing Message-IDs carry the ticket number,
so a reply threads even when the requester's client trims In-Reply-To and References; every message
carries ``X-Helpdesk-Loop`` so that the desk never treats its own mail, bounced back, as a new request.
"""
from __future__ import annotations

import re
import secrets
from contextlib import nullcontext
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import current_app
from flask_babel import force_locale, get_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from helpdesk.core.outbox import queue_mail
from helpdesk.extensions import db
from helpdesk.tickets.models import Message, Ticket
from helpdesk.tickets.states import MessageKind

ACK_INTERVAL = timedelta(minutes=10)  # at most one acknowledgement per sender in this time
LOOP_HEADER = "X-Helpdesk-Loop"
#: Sent while writing an acknowledgement (sender: the ticket; ``links``: a list to add (title, URL) pairs
#: to): the knowledge base adds the articles that match the ticket's subject.
acknowledgement_links = Namespace().signal("acknowledgement-links")
_OUR_ID = re.compile(r"<p311\.(\d+)\.[0-9a-f]+@", re.IGNORECASE)


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


def tagged_subject(ticket: Ticket, subject: str | None = None) -> str:
    """The subject with the ticket's tag: "[Participa311 #123] …" (the tag is not repeated)."""
    tag = f"[{current_app.config['MAIL_SUBJECT_TAG']} #{ticket.id}]".replace("[ #", "[#")
    subject = subject or ticket.subject
    pattern = r"\[(?:" + re.escape(current_app.config["MAIL_SUBJECT_TAG"]) + r"\s*)?#(\d+)\]\s*"
    untagged = re.sub(pattern, lambda match: "" if match.group(1) == str(ticket.id) else match.group(0), subject,
                      flags=re.IGNORECASE)
    return f"{tag} {untagged.strip()}"


def _thread_headers(ticket: Ticket) -> dict[str, str]:
    ids = [message.message_id for message in ticket.messages if message.message_id]
    headers = {LOOP_HEADER: desk_domain()}
    inbound = [message.message_id for message in ticket.messages
               if message.message_id and message.kind is MessageKind.INBOUND]
    if inbound:
        headers["In-Reply-To"] = inbound[-1]
    if ids:
        headers["References"] = " ".join(ids[-20:])
    return headers


def send_reply(message: Message) -> None:
    """E-mail a reply to the ticket's requester (with its attachments); its Message-ID names the ticket."""
    ticket = message.ticket
    if not ticket.requester_email:
        return
    headers = _thread_headers(ticket)
    message.message_id = new_message_id(ticket)
    queue_mail([ticket.requester_email], tagged_subject(ticket), message.body_text, headers=headers,
               message_id=message.message_id, related=message,
               attachments=[{"filename": item.filename, "content_type": item.content_type, "sha256": item.sha256}
                            for item in message.attachments])


def _language(language: str):
    """Babel's force_locale reloads the catalogues each time: only switch when the language differs."""
    return nullcontext() if str(get_locale() or "") == language else force_locale(language)


def acknowledge(ticket: Ticket, now: datetime) -> Message | None:
    """Tell the sender of a new e-mail ticket that it arrived: its number, the support hours, when to
    expect an answer. Never to the desk itself, and at most once per sender every ten minutes."""
    address = (ticket.requester_email or "").lower()
    if not address or address in desk_addresses() or recently_acknowledged([address], now):
        return None
    message, outgoing = acknowledgement(ticket, now)
    db.session.add(message)
    db.session.flush()
    queue_mail(**outgoing, related=message)
    return message


def recently_acknowledged(addresses: list[str], now: datetime) -> set[str]:
    """Which of these (lower-case) addresses had an acknowledgement in the last ten minutes."""
    with db.session.no_autoflush:  # (the pending rows of a new ticket are no acknowledgement)
        # Acknowledgements are written to one lower-case address: the partial index on them answers this.
        return set(db.session.scalars(select(Message.to_addresses).where(
            Message.kind == MessageKind.ACKNOWLEDGEMENT, Message.to_addresses.in_(addresses),
            Message.created_at > now - ACK_INTERVAL)))


def acknowledgement(ticket: Ticket, now: datetime) -> tuple[Message, dict]:
    """The acknowledgement of ``ticket`` (which has its number) to its requester, not yet in the session,
    and what ``queue_mail`` needs to send it."""
    address = ticket.requester_email.lower()
    config = current_app.config
    with _language(config["DEFAULT_LANGUAGE"]):
        lines = [_("Hello,"), "",
                 _("We have received your message and opened ticket %(reference)s. Keep the number in the subject "
                   "when you write about it again.", reference=ticket.reference), "",
                 _("Support hours: Monday to Friday, 9:00 to 14:00 and 15:00 to 17:00, except holidays.")]
        if ticket.first_response_due_at is not None:
            due = ticket.first_response_due_at.astimezone(ZoneInfo(config["TIMEZONE"]))
            lines.append(_("You can expect a first answer by %(when)s.", when=due.strftime("%d/%m/%Y %H:%M")))
        links: list[tuple[str, str]] = []
        acknowledgement_links.send(ticket, links=links)
        if links:
            lines += ["", _("These answers may help you meanwhile:")] + [f"- {title}: {url}" for title, url in links]
        lines += ["", _("Support: %(email)s · %(phone)s", email=config["SUPPORT_EMAIL"],
                        phone=config["SUPPORT_PHONE"]), "",
                  _("This is an automatic message: there is no need to answer it.")]
        body = "\n".join(lines)
        subject = tagged_subject(ticket, _("Received: %(subject)s", subject=ticket.subject))
    headers = {**_thread_headers(ticket), "Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}
    message = Message(ticket=ticket, kind=MessageKind.ACKNOWLEDGEMENT, body_text=body, created_at=now,
                      from_name=config["MAIL_FROM_NAME"], from_address=config["SUPPORT_EMAIL"],
                      to_addresses=address, subject=subject, message_id=new_message_id(ticket))
    return message, {"to": [address], "subject": subject, "body_text": body, "headers": headers,
                     "message_id": message.message_id}


def tell_reply_bounced(ticket: Ticket, report: str) -> None:
    """Tell the ticket's agent that a reply came back undelivered (``report``: the bounce's text)."""
    if ticket.assignee is None or not ticket.assignee.is_active:
        return
    queue_mail([ticket.assignee.email], f"[{ticket.reference}] No s'ha pogut lliurar la resposta / "
               f"Reply not delivered", f"{ticket.reference} {ticket.subject}\n\n{report[:2000]}",
               headers={"Auto-Submitted": "auto-generated", LOOP_HEADER: desk_domain()},
               domain=desk_domain(), related=ticket)
