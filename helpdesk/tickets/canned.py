"""Canned replies: ready-made texts with placeholders, managed by administrators, in Catalan (the reply's
own title and text) and, when written, in Spanish and English; inserted in the requester's language."""
from __future__ import annotations

import re

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.councils import recipients
from helpdesk.extensions import Model, db
from helpdesk.tickets.models import BODY_MAX_LENGTH, CannedReply, Ticket

PLACEHOLDERS = ("requester_name", "ticket_number", "council", "instance_url")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
TITLE_MAX_LENGTH = 200
# Catalan lives in the reply itself (the desk's default language, required, and what the others fall back
# to); these are the languages a reply may also be written in.
OTHER_LANGUAGES = ("es", "en")


class CannedReplyText(Model):
    """A canned reply's title and text in a language other than Catalan."""

    # Beside CannedReply rather than columns on it: one row per language written, none for a language that
    # is not, so "not translated" needs no empty strings and a fourth language would need no migration.
    __tablename__ = "canned_reply_texts"
    __table_args__ = (UniqueConstraint("canned_reply_id", "language", name="uq_canned_reply_texts_reply_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    canned_reply_id: Mapped[int] = mapped_column(ForeignKey("canned_replies.id", ondelete="CASCADE"), index=True)
    language: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    body: Mapped[str] = mapped_column(Text)

    canned_reply: Mapped[CannedReply] = relationship(
        backref=backref("translations", cascade="all, delete-orphan", lazy="selectin",
                        order_by="CannedReplyText.language"))


def texts_of(reply: CannedReply) -> dict[str, tuple[str, str]]:
    """Every version of the reply: language → (title, text), Catalan first."""
    texts = {"ca": (reply.title, reply.body)}
    texts.update((item.language, (item.title, item.body)) for item in reply.translations)
    return texts


def text_in(reply: CannedReply, language: str) -> tuple[str, str]:
    """(title, text) in ``language``, else in Catalan, else in any language the reply has."""
    texts = texts_of(reply)
    for candidate in (language, "ca", *texts):
        if texts.get(candidate, ("", ""))[0]:
            return texts[candidate]
    return texts["ca"]


def display_title(reply: CannedReply, language: str | None = None) -> str:
    """The reply's title in ``language`` (by default the reader's), as the picker and the lists show it."""
    return text_in(reply, language or str(get_locale() or "ca"))[0]


def save_canned_reply(actor: User | None, title: str, body: str, is_active: bool, reply: CannedReply | None = None,
                      translations: dict[str, tuple[str, str]] | None = None) -> CannedReply:
    """Create or change a canned reply: ``title`` and ``body`` in Catalan, ``translations`` the Spanish and
    English (title, text) (an empty pair takes that language away; None leaves them as they are). Unknown
    placeholders are refused, naming them."""
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators manage canned replies."))
    title, body = _clean(title, body, "")
    others = {}
    for language, (other_title, other_body) in (translations or {}).items():
        if language not in OTHER_LANGUAGES:
            raise DomainError(_l("Unknown value “%(value)s”.", value=language), "title")
        others[language] = _clean(other_title, other_body, f"_{language}", optional=True)
    same = db.session.scalar(select(CannedReply).where(CannedReply.title == title))
    if same is not None and same is not reply:
        raise DomainError(_l("There is already a canned reply called “%(title)s”.", title=title), "title")
    for language, (other_title, _body) in others.items():
        same_text = db.session.scalar(select(CannedReplyText).where(CannedReplyText.language == language,
                                                                    CannedReplyText.title == other_title))
        if other_title and same_text is not None and same_text.canned_reply is not reply:
            raise DomainError(_l("There is already a canned reply called “%(title)s”.", title=other_title),
                              f"title_{language}")
    before = _snapshot(reply) if reply else {}
    if reply is None:
        reply = CannedReply()
        db.session.add(reply)
    reply.title, reply.body, reply.is_active = title, body, is_active
    if translations is not None:
        kept = {item.language: item for item in reply.translations}
        for language, (other_title, other_body) in others.items():
            if not other_title:
                if language in kept:
                    reply.translations.remove(kept[language])
            elif language in kept:
                kept[language].title, kept[language].body = other_title, other_body
            else:
                reply.translations.append(CannedReplyText(language=language, title=other_title, body=other_body))
    db.session.flush()
    changes = audit.diff(before, _snapshot(reply))
    if changes:
        audit.record(actor, "updated" if before else "created", reply, changes)
    return reply


def _clean(title: str, body: str, suffix: str, optional: bool = False) -> tuple[str, str]:
    """The title and text tidied and checked; field names end in ``suffix`` (``_es``, ``_en`` or nothing)."""
    title, body = " ".join((title or "").split()), (body or "").replace("\r\n", "\n").strip()
    if optional and not title and not body:
        return "", ""
    if not title or len(title) > TITLE_MAX_LENGTH:
        raise DomainError(_l("The title is required."), f"title{suffix}")
    if not body or len(body) > BODY_MAX_LENGTH:
        raise DomainError(_l("Write the text of the reply."), f"body{suffix}")
    unknown = sorted({name for name in _PLACEHOLDER.findall(body) if name not in PLACEHOLDERS})
    if unknown:
        raise DomainError(_l("Unknown placeholder(s): %(names)s. Use %(known)s.",
                             names=", ".join("{%s}" % name for name in unknown),
                             known=", ".join("{%s}" % name for name in PLACEHOLDERS)), f"body{suffix}")
    return title, body


def _snapshot(reply: CannedReply) -> dict[str, object]:
    values = audit.snapshot(reply, CannedReply.AUDITED)
    texts = texts_of(reply)
    for language in OTHER_LANGUAGES:
        values[f"title_{language}"], values[f"body_{language}"] = texts.get(language, ("", ""))
    return values


def requester_language(ticket: Ticket) -> str:
    """The language the ticket's requester is written to (their account's, else their contact's, else Catalan)."""
    return recipients.language_of(ticket.requester_email, contact=ticket.requester_contact)


def render(reply: CannedReply, ticket: Ticket, language: str | None = None) -> str:
    """The reply's text, in ``language`` (by default the requester's), with this ticket's values in place of the
    placeholders."""
    values = {
        "requester_name": ticket.requester_name or "",
        "ticket_number": ticket.reference,
        "council": ticket.council.name if ticket.council else "",
        "instance_url": ticket.instance.base_url if ticket.instance else "",
    }
    body = text_in(reply, language or requester_language(ticket))[1]
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), body)


def active_replies() -> list[CannedReply]:
    """The replies in use, by their Catalan title."""
    return list(db.session.scalars(select(CannedReply).where(CannedReply.is_active).order_by(CannedReply.title)))
