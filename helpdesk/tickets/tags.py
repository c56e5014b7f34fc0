"""Free tags on tickets: the names, the links to tickets, tagging and untagging (one ticket or many).

A tag's name is normalised before it is stored or looked up: trimmed, inner runs of spaces made one,
lower-cased. So "Logo ", "LOGO" and "logo" are one tag, the unique index on the name is what makes
it unique case-insensitively (on SQLite and PostgreSQL alike, without collations), and the inbox's
filter by tag is an equality on that index.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Column, ForeignKey, Index, String, Table, delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket

TAG_MAX_LENGTH = 40
# Letters of any language, digits and a few joiners; no commas (people type lists with them) nor markup.
TAG_PATTERN = re.compile(r"^\w[\w .\-/+]*$")
COMPLETIONS = 10
BULK_MAX_TICKETS = 500  # a page of the inbox is far fewer; this bounds one request's work

ticket_tags = Table(
    "ticket_tags", db.metadata,
    Column("ticket_id", ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    # The primary key answers "the tags of these tickets"; this one "the tickets of this tag" (the filter).
    Index("ix_ticket_tags_tag_id_ticket_id", "tag_id", "ticket_id"),
)


class Tag(db.Model):
    """A free label staff put on tickets ("logo", "migració 0.28"); stored normalised, see the module."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(TAG_MAX_LENGTH), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


def normalise(name: str) -> str:
    """The stored form of a tag as someone typed it: trimmed, single spaces, lower case."""
    return " ".join((name or "").split()).lower()


def checked_name(name: str) -> str:
    """The normalised name, or a DomainError (on the "tag" field) saying what is wrong with it."""
    cleaned = normalise(name)
    if not cleaned:
        raise DomainError(_l("Write the tag."), "tag")
    if len(cleaned) > TAG_MAX_LENGTH:
        raise DomainError(_l("A tag has at most %(count)d characters.", count=TAG_MAX_LENGTH), "tag")
    if not TAG_PATTERN.match(cleaned):
        raise DomainError(_l("A tag has letters, digits, spaces and - _ . / + only."), "tag")
    return cleaned


def _tag_named(name: str, create: bool) -> Tag | None:
    tag = db.session.scalar(select(Tag).where(Tag.name == name))
    if tag is None and create:
        try:
            with db.session.begin_nested():  # another agent may create the same tag at the same moment
                tag = Tag(name=name)
                db.session.add(tag)
        except IntegrityError:
            tag = db.session.scalar(select(Tag).where(Tag.name == name))
    return tag


def _check(actor: User, tickets: Sequence[Ticket]) -> None:
    if not actor.is_staff:
        raise NotAllowed(_l("Only the support team tags tickets."))
    if len(tickets) > BULK_MAX_TICKETS:
        raise DomainError(_l("Tag at most %(count)d tickets at once.", count=BULK_MAX_TICKETS), "tickets")


def tag_tickets(actor: User, tickets: Sequence[Ticket], name: str, now: datetime | None = None) -> list[Ticket]:
    """Put the tag ``name`` on ``tickets`` (a single ticket is a batch of one); returns those that lacked it.

    Each newly tagged ticket gets a "tagged" event on its trail; flushes, never commits.
    """
    _check(actor, tickets)
    cleaned = checked_name(name)
    tag = _tag_named(cleaned, create=True)
    assert tag is not None
    ids = [ticket.id for ticket in tickets]
    present = set(db.session.scalars(select(ticket_tags.c.ticket_id).where(
        ticket_tags.c.tag_id == tag.id, ticket_tags.c.ticket_id.in_(ids)))) if ids else set()
    added = [ticket for ticket in tickets if ticket.id not in present]
    if added:
        db.session.execute(insert(ticket_tags), [{"ticket_id": ticket.id, "tag_id": tag.id} for ticket in added])
    for ticket in added:
        audit.record(actor, "tagged", ticket, {"tag": {"before": None, "after": cleaned}})
    db.session.flush()
    return added


def untag_tickets(actor: User, tickets: Sequence[Ticket], name: str) -> list[Ticket]:
    """Take the tag ``name`` off ``tickets``; returns those that had it, each with an "untagged" event.

    The tag itself stays (other tickets may carry it); completion offers only tags in use.
    """
    _check(actor, tickets)
    cleaned = checked_name(name)
    tag = _tag_named(cleaned, create=False)
    if tag is None or not tickets:
        return []
    ids = [ticket.id for ticket in tickets]
    present = set(db.session.scalars(select(ticket_tags.c.ticket_id).where(
        ticket_tags.c.tag_id == tag.id, ticket_tags.c.ticket_id.in_(ids))))
    removed = [ticket for ticket in tickets if ticket.id in present]
    if removed:
        db.session.execute(delete(ticket_tags).where(ticket_tags.c.tag_id == tag.id,
                                                     ticket_tags.c.ticket_id.in_([t.id for t in removed])))
    for ticket in removed:
        audit.record(actor, "untagged", ticket, {"tag": {"before": cleaned, "after": None}})
    db.session.flush()
    return removed


def tags_of(ticket: Ticket) -> list[str]:
    """The names of the ticket's tags, alphabetically."""
    return tags_by_ticket([ticket.id]).get(ticket.id, [])


def tags_by_ticket(ticket_ids: Sequence[int]) -> dict[int, list[str]]:
    """The tags of many tickets in one query (an inbox page): ticket id → names, alphabetically."""
    if not ticket_ids:
        return {}
    found: dict[int, list[str]] = {}
    for ticket_id, name in db.session.execute(
            select(ticket_tags.c.ticket_id, Tag.name).join(Tag, Tag.id == ticket_tags.c.tag_id)
            .where(ticket_tags.c.ticket_id.in_(list(ticket_ids))).order_by(Tag.name)):
        found.setdefault(ticket_id, []).append(name)
    return found


def complete(prefix: str, limit: int = COMPLETIONS) -> list[str]:
    """Tags in use that start with what was typed, the most used first (what the tag field offers)."""
    cleaned = normalise(prefix)[:TAG_MAX_LENGTH]
    if not cleaned:
        return []
    pattern = cleaned.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    uses = func.count(ticket_tags.c.ticket_id)
    return list(db.session.scalars(
        select(Tag.name).join(ticket_tags, ticket_tags.c.tag_id == Tag.id)
        .where(Tag.name.like(pattern, escape="\\")).group_by(Tag.id, Tag.name)
        .order_by(uses.desc(), Tag.name).limit(limit)))


def with_tag(name: str):
    """The join that keeps the tickets carrying the tag ``name`` (already normalised), for the inbox.

    It starts from the tag's unique name and walks ix_ticket_tags_tag_id_ticket_id to the tickets'
    primary key: a search, never a scan of tickets.
    """
    links = ticket_tags.alias()
    tag = select(Tag.id).where(Tag.name == name).scalar_subquery()
    return links, (links.c.ticket_id == Ticket.id) & (links.c.tag_id == tag)
