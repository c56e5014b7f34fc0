"""The one way to find the ticket a message belongs to: the Message-IDs it answers, else a ticket its
subject names ("[#123]") when the sender may write on it."""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from helpdesk.auth.models import User
from helpdesk.councils.services import council_for_address
from helpdesk.extensions import db
from helpdesk.mail.parsing import ParsedMail
from helpdesk.tickets import mailing
from helpdesk.tickets.models import Message, Ticket


@dataclass(frozen=True)
class Thread:
    """Where a message goes: ``ticket`` (None: a new one), and a ticket it names but may not join."""

    ticket: Ticket | None
    mentioned: Ticket | None = None
    by_subject: bool = False  # found by the subject's tag, not by the Message-IDs it answers


def find_thread(mail: ParsedMail, taken: Mapping[str, Ticket] | None = None,
                stored: Mapping[str, int] | None = None) -> Thread:
    """The ticket ``mail`` answers: by the Message-IDs it references (a stored message's, one ``taken``
    in the same chunk and not yet written, or ours, which carry the ticket number), following merges;
    else by the tag in its subject. ``stored``: what ``known_threads`` found for a chunk this mail is in."""
    ids = mail.thread_ids
    if stored is None:
        stored = _ticket_numbers(set(ids))
    for message_id in ids:
        if taken and (ticket := taken.get(message_id)) is not None:
            return Thread(ticket)
        number = stored.get(message_id) or mailing.ticket_from_message_id(message_id)
        if number and (ticket := db.session.get(Ticket, number)) is not None:
            return Thread(ticket.merged_into or ticket)
    number = subject_tag(mail.subject)
    ticket = db.session.get(Ticket, number) if number is not None else None
    if ticket is None:
        return Thread(None)
    ticket = ticket.merged_into or ticket
    return Thread(ticket, by_subject=True) if may_write(mail.from_address, ticket) else Thread(None, ticket)


def known_threads(mails: Iterable[ParsedMail]) -> tuple[dict[str, int], list[Ticket]]:
    """For ``find_thread`` on many mails at once: the ticket of each stored message they reference, asked
    in one query, and every ticket they may name, loaded with its messages in two more. Keep the tickets while the mails are
    threaded: the session holds them only while someone does, and ``find_thread`` then asks nothing."""
    mails = list(mails)
    stored = _ticket_numbers({message_id for mail in mails for message_id in mail.thread_ids})
    numbers = set(stored.values()) | {number for mail in mails for number in
                                      [*map(mailing.ticket_from_message_id, mail.thread_ids),
                                       subject_tag(mail.subject)] if number}
    # With their messages: a message joining a ticket re-indexes it, and ``may_write`` reads who wrote.
    tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(sorted(numbers)))
                                 .options(selectinload(Ticket.messages))).all() if numbers else []
    return stored, list(tickets)


def _ticket_numbers(message_ids: set[str]) -> dict[str, int]:
    """The ticket of each stored message among ``message_ids`` (the latest, should one id be on several)."""
    if not message_ids:
        return {}
    rows = db.session.execute(select(Message.message_id, Message.ticket_id)
                              .where(Message.message_id.in_(message_ids)).order_by(Message.id))
    return {message_id: ticket_id for message_id, ticket_id in rows if message_id}


def subject_tag(subject: str) -> int | None:
    """The ticket number a subject names: "[#123]", or with the configured prefix "[Participa311 #123]"."""
    tag = re.escape(current_app.config["MAIL_SUBJECT_TAG"])
    match = re.search(r"\[(?:" + tag + r"\s*)?#(\d{1,9})\]", subject, re.IGNORECASE)
    return int(match.group(1)) if match else None


def may_write(address: str, ticket: Ticket) -> bool:
    """The requester, anyone already on the thread, someone of the same council, or staff."""
    address = (address or "").lower()
    if not address:
        return False
    if address == (ticket.requester_email or "").lower():
        return True
    for message in ticket.messages:
        people = f"{message.from_address},{message.to_addresses},{message.cc_addresses}".lower()
        if address in re.split(r"[\s,;]+", people):
            return True
    if ticket.council_id and (council := council_for_address(address)) is not None and council.id == ticket.council_id:
        return True
    user = db.session.scalar(select(User).where(func.lower(User.email) == address))
    return user is not None and user.is_staff and user.is_active
