"""Who the desk's e-mail goes to, and in which language: a user's own language (their account's), else that
of the council contact with the address (when it was given), else the desk's default (Catalan); and the
sending itself, one message per language, with the support hours described in it."""
from __future__ import annotations

from typing import Any, Iterable

from flask import current_app
from sqlalchemy import func, select

from helpdesk.auth.models import User
from helpdesk.config import LANGUAGES
from helpdesk.core.emails import Email
from helpdesk.core.models import transaction_cache
from helpdesk.core.outbox import OutboxMessage, queue_mail
from helpdesk.councils.models import Contact
from helpdesk.extensions import db
from helpdesk.sla.hours import support_hours


def language_of(address: str | None, *, user: User | None = None, contact: Contact | None = None) -> str:
    """The language of the mail to ``address`` (or to ``user``, or to ``contact``, when the caller has them)."""
    if user is not None and user.language in LANGUAGES:
        return user.language
    found = languages_of([address]).get(address.strip().lower()) if address else None
    if found is not None and found[1]:
        return found[0]  # the address has an account: its language is the person's own choice
    if contact is not None and contact.language in LANGUAGES:
        return contact.language
    return found[0] if found is not None else current_app.config["DEFAULT_LANGUAGE"]


def by_language(addresses: Iterable[str]) -> dict[str, list[str]]:
    """The addresses grouped by the language each is written to in (one message per language), in order."""
    addresses = list(dict.fromkeys(address for address in addresses if address))
    known = languages_of(addresses)
    fallback = current_app.config["DEFAULT_LANGUAGE"]
    grouped: dict[str, list[str]] = {}
    for address in addresses:
        language = known.get(address.strip().lower(), (fallback, False))[0]
        grouped.setdefault(language, []).append(address)
    return grouped


def languages_of(addresses: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """(language, whether it is a user's) by lower-case address, for those the desk knows a language for;
    asked once per transaction (importing mail acknowledges many senders at once)."""
    known = transaction_cache("recipient_languages")
    wanted = {address.strip().lower() for address in addresses if address} - set(known)
    if wanted:
        for address in wanted:
            known[address] = None
        with db.session.no_autoflush:
            for email, language in db.session.execute(select(func.lower(Contact.email), Contact.language).where(
                    func.lower(Contact.email).in_(wanted), Contact.language.in_(LANGUAGES)).order_by(Contact.id.desc())):
                known[email] = (language, False)  # the oldest contact last: it wins when they disagree
            for email, language in db.session.execute(select(func.lower(User.email), User.language).where(
                    func.lower(User.email).in_(wanted), User.language.in_(LANGUAGES))):
                known[email] = (language, True)
    return {address: value for address in {item.strip().lower() for item in addresses if item}
            if (value := known.get(address)) is not None}


def send(email: Email, language: str, to: list[str], context: dict[str, Any], **options: Any) -> OutboxMessage:
    """Queue ``email`` to ``to`` in ``language``, with the support hours in that language (the options are
    ``queue_mail``'s)."""
    rendered = email.render(language, context, hours=support_hours(language))
    return queue_mail(to, rendered.subject, rendered.text, body_html=rendered.html, **options)


def send_to_each(email: Email, addresses: Iterable[str], context: dict[str, Any], *, one_each: bool = False,
                 **options: Any) -> list[OutboxMessage]:
    """Queue ``email`` to ``addresses``, each in their own language: one message per language, or per person."""
    queued = []
    for language, group in by_language(addresses).items():
        for to in ([[address] for address in group] if one_each else [group]):
            queued.append(send(email, language, to, context, **options))
    return queued
