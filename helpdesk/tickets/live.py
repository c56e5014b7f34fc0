"""The live desk: what changed (an event log every web worker reads, written in the same transaction as the
change), who has a ticket open or is typing a reply, and reply drafts kept on the server.

Pages ask ``/live`` every couple of seconds for the events after the last one they saw. The log is the fan-out:
whichever worker or process wrote a change (a view, the mail intake, the scheduler, the CLI), every worker
reads it from the database, on SQLite as on PostgreSQL, and no connection is held open between asks. On
PostgreSQL a sequence number taken by a transaction that commits late can be lower than one already read,
so readers ask again from a little before the last id they saw and drop the ids they had (``REREAD``).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, delete, event, func, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from helpdesk.auth.models import User
from helpdesk.core.models import UTCDateTime, enum_type, utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Message, Ticket
from helpdesk.tickets.states import MessageKind

#: How far back before the last id seen a page asks again (late commits on PostgreSQL).
REREAD = 200
#: At most this many events in one answer; a page that missed more reloads its lists once.
BATCH = 300
#: A person counts as having the ticket open while their page asked within this time, typing for this long.
PRESENT_FOR = timedelta(seconds=25)
TYPING_FOR = timedelta(seconds=8)
#: Presence is written at most this often per page (unless typing starts), so asking does not write each time.
PRESENCE_EVERY = timedelta(seconds=10)
#: The log keeps a day: a page away longer reloads.
KEEP_EVENTS = timedelta(days=1)
# What a change to shows on open pages: each field, and the relationship that may be set instead of its column.
TRACKED_FIELDS = {"status": "status", "assignee_id": "assignee", "priority": "priority", "subject": "subject",
                  "council_id": "council", "category": "category", "merged_into_id": "merged_into"}


class EventKind(enum.Enum):
    TICKET_CREATED = "ticket_created"
    TICKET_CHANGED = "ticket_changed"
    MESSAGE_ADDED = "message_added"


class DeskEvent(db.Model):
    """One change the open pages should show."""

    __tablename__ = "desk_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[EventKind] = mapped_column(enum_type(EventKind))
    ticket_id: Mapped[int] = mapped_column(index=True)  # no foreign key: the log outlives a merged ticket's row
    fields: Mapped[str] = mapped_column(String(255), default="")  # what changed, comma-separated


class TicketPresence(db.Model):
    """Someone's page of a ticket, as of its last ask."""

    __tablename__ = "ticket_presence"
    __table_args__ = (Index("ix_ticket_presence_ticket_seen", "ticket_id", "seen_at"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    typing_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DraftKind(enum.Enum):
    REPLY = "reply"
    NOTE = "note"


class ReplyDraft(db.Model):
    """What someone has typed in a ticket's reply or note box and not sent yet."""

    __tablename__ = "reply_drafts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[DraftKind] = mapped_column(enum_type(DraftKind), primary_key=True)
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


@event.listens_for(Session, "before_flush")
def _log_changes(session: Session, _context: Any, _instances: Any) -> None:
    """Every write path (views, intake, jobs, the CLI) flushes its tickets and messages: log them here."""
    logged: list[DeskEvent] = []
    for item in session.new:
        if isinstance(item, Message) and item.ticket_id is not None:
            logged.append(DeskEvent(kind=EventKind.MESSAGE_ADDED, ticket_id=item.ticket_id, fields=item.kind.value))
        elif isinstance(item, Message) and item.ticket is not None and item.ticket.id is not None:
            logged.append(DeskEvent(kind=EventKind.MESSAGE_ADDED, ticket_id=item.ticket.id, fields=item.kind.value))
    for item in session.dirty:
        if isinstance(item, Ticket) and item.id is not None:
            state = inspect(item)
            changed = [name for name, relation in TRACKED_FIELDS.items()
                       if state.attrs[name].history.has_changes() or state.attrs[relation].history.has_changes()]
            if changed:
                logged.append(DeskEvent(kind=EventKind.TICKET_CHANGED, ticket_id=item.id, fields=",".join(changed)))
    if logged:
        session.add_all(logged)


@event.listens_for(Session, "after_flush")
def _log_new_tickets(session: Session, _context: Any) -> None:
    """New tickets have their id only once flushed."""
    created = [item for item in session.new if isinstance(item, Ticket)]
    messages = [item for item in session.new if isinstance(item, Message)
                and item.ticket_id is not None and item.ticket in created]
    if created:
        rows = [{"kind": EventKind.TICKET_CREATED.value, "ticket_id": item.id, "fields": "", "at": utcnow()}
                for item in created]
        rows += [{"kind": EventKind.MESSAGE_ADDED.value, "ticket_id": item.ticket_id, "fields": item.kind.value,
                  "at": utcnow()} for item in messages]
        session.execute(DeskEvent.__table__.insert(), rows)


def last_event_id() -> int:
    return int(db.session.scalar(select(func.max(DeskEvent.id))) or 0)


@dataclass(frozen=True)
class Change:
    id: int
    kind: str
    ticket: int
    fields: str


def changes_after(after: int) -> tuple[list[Change], bool]:
    """The events from a little before ``after`` on (the caller drops those it had), and whether more were
    waiting than one answer holds."""
    rows = db.session.execute(select(DeskEvent.id, DeskEvent.kind, DeskEvent.ticket_id, DeskEvent.fields)
                              .where(DeskEvent.id > max(0, after - REREAD))
                              .order_by(DeskEvent.id).limit(BATCH + 1)).all()
    return ([Change(id_, kind.value, ticket, fields) for id_, kind, ticket, fields in rows[:BATCH]],
            len(rows) > BATCH)


def note_presence(user: User, ticket_id: int, typing: bool, now: datetime) -> None:
    """``user`` has the ticket open (and is typing, or not); written only when it would change what others see."""
    row = db.session.get(TicketPresence, (user.id, ticket_id))
    if row is None:
        db.session.add(TicketPresence(user_id=user.id, ticket_id=ticket_id, seen_at=now,
                                      typing_at=now if typing else None))
        return
    was_typing = row.typing_at is not None and now - row.typing_at < TYPING_FOR
    if now - row.seen_at >= PRESENCE_EVERY or (typing and not was_typing) or (was_typing and not typing):
        row.seen_at = now
        row.typing_at = now if typing else None
    elif typing and now - (row.typing_at or now) >= TYPING_FOR / 2:
        row.typing_at = now


def leave(user: User, ticket_id: int) -> None:
    db.session.execute(delete(TicketPresence).where(TicketPresence.user_id == user.id,
                                                    TicketPresence.ticket_id == ticket_id))


@dataclass(frozen=True)
class Present:
    name: str
    typing: bool


def present(ticket_ids: list[int], now: datetime, but: User) -> dict[int, list[Present]]:
    """Who else has each of these tickets open, and whether they are typing."""
    if not ticket_ids:
        return {}
    rows = db.session.execute(
        select(TicketPresence.ticket_id, User.name, TicketPresence.typing_at).join(User)
        .where(TicketPresence.ticket_id.in_(ticket_ids), TicketPresence.seen_at >= now - PRESENT_FOR,
               TicketPresence.user_id != but.id).order_by(User.name)).all()
    found: dict[int, list[Present]] = {}
    for ticket_id, name, typing_at in rows:
        found.setdefault(ticket_id, []).append(Present(name, typing_at is not None and now - typing_at < TYPING_FOR))
    return found


def save_draft(user: User, ticket_id: int, kind: DraftKind, body: str, now: datetime) -> None:
    """Keep what ``user`` typed (an empty box forgets the draft)."""
    row = db.session.get(ReplyDraft, (user.id, ticket_id, kind))
    if not body.strip():
        if row is not None:
            db.session.delete(row)
        return
    if row is None:
        db.session.add(ReplyDraft(user_id=user.id, ticket_id=ticket_id, kind=kind, body=body, updated_at=now))
    else:
        row.body, row.updated_at = body, now


def drafts_of(user: User, ticket_id: int) -> dict[DraftKind, str]:
    rows = db.session.execute(select(ReplyDraft.kind, ReplyDraft.body).where(
        ReplyDraft.user_id == user.id, ReplyDraft.ticket_id == ticket_id)).all()
    return {kind: body for kind, body in rows}


def forget_draft(user: User, ticket_id: int, kind: DraftKind) -> None:
    db.session.execute(delete(ReplyDraft).where(ReplyDraft.user_id == user.id, ReplyDraft.ticket_id == ticket_id,
                                                ReplyDraft.kind == kind))


def written_since(ticket: Ticket, seen: int, user: User) -> list[Message]:
    """What others wrote to or from the requester on ``ticket`` after message ``seen`` (a reply being sent on
    top of it should be looked at first)."""
    return list(db.session.scalars(select(Message).where(
        Message.ticket_id == ticket.id, Message.id > seen, Message.deleted_at.is_(None),
        Message.kind.in_((MessageKind.REPLY, MessageKind.INBOUND)),
        (Message.author_id.is_(None)) | (Message.author_id != user.id)).order_by(Message.id)))


def forget_old_events(now: datetime | None = None) -> int:
    """Delete the log older than a day, and presence rows long gone; how many events."""
    now = now or utcnow()
    result = db.session.execute(delete(DeskEvent).where(DeskEvent.at < now - KEEP_EVENTS))
    db.session.execute(delete(TicketPresence).where(TicketPresence.seen_at < now - timedelta(hours=1)))
    db.session.commit()
    return int(getattr(result, "rowcount", 0) or 0)
