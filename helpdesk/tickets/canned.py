"""Canned replies: ready-made texts with placeholders, managed by administrators."""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.extensions import db
from helpdesk.tickets.models import BODY_MAX_LENGTH, CannedReply, Ticket

PLACEHOLDERS = ("requester_name", "ticket_number", "council", "instance_url")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def save_canned_reply(actor: User | None, title: str, body: str, is_active: bool,
                      reply: CannedReply | None = None) -> CannedReply:
    """Create or change a canned reply; unknown placeholders are refused, naming them."""
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators manage canned replies."))
    title, body = " ".join(title.split()), body.replace("\r\n", "\n").strip()
    if not title:
        raise DomainError(_l("The title is required."), "title")
    if not body or len(body) > BODY_MAX_LENGTH:
        raise DomainError(_l("Write the text of the reply."), "body")
    unknown = sorted({name for name in _PLACEHOLDER.findall(body) if name not in PLACEHOLDERS})
    if unknown:
        raise DomainError(_l("Unknown placeholder(s): %(names)s. Use %(known)s.",
                             names=", ".join("{%s}" % name for name in unknown),
                             known=", ".join("{%s}" % name for name in PLACEHOLDERS)), "body")
    same = db.session.scalar(select(CannedReply).where(CannedReply.title == title))
    if same is not None and same is not reply:
        raise DomainError(_l("There is already a canned reply called “%(title)s”.", title=title), "title")
    before = audit.snapshot(reply, CannedReply.AUDITED) if reply else {}
    if reply is None:
        reply = CannedReply()
        db.session.add(reply)
    reply.title, reply.body, reply.is_active = title, body, is_active
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(reply, CannedReply.AUDITED))
    if changes:
        audit.record(actor, "updated" if before else "created", reply, changes)
    return reply


def render(reply: CannedReply, ticket: Ticket) -> str:
    """The reply's text with this ticket's values in place of the placeholders."""
    values = {
        "requester_name": ticket.requester_name or "",
        "ticket_number": ticket.reference,
        "council": ticket.council.name if ticket.council else "",
        "instance_url": ticket.instance.base_url if ticket.instance else "",
    }
    return _PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), reply.body)


def active_replies() -> list[CannedReply]:
    return list(db.session.scalars(select(CannedReply).where(CannedReply.is_active).order_by(CannedReply.title)))
