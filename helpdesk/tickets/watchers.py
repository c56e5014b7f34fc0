"""Watchers: staff who follow a ticket they are not assigned to, and are told what its assignee is told.

Anyone on the support team may watch a ticket or stop watching it; the assignee may also add a
colleague (or take one off). ``watchers_of`` is what notifications ask for, beside the assignee.
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import STAFF_ROLES, User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import UTCDateTime, utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket


class TicketWatcher(db.Model):
    """One staff member watching one ticket."""

    __tablename__ = "ticket_watchers"
    # The primary key answers "who watches this ticket"; the index "what does this person watch".
    __table_args__ = (Index("ix_ticket_watchers_user_id_ticket_id", "user_id", "ticket_id"),)

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id])


def _may_change(actor: User, ticket: Ticket, watcher: User) -> None:
    if not actor.is_staff:
        raise NotAllowed(_l("Only the support team watches tickets."))
    if not (watcher.is_staff and watcher.is_active):
        raise DomainError(_l("Only active members of the support team can watch a ticket."), "watcher")
    if watcher.id != actor.id and ticket.assignee_id != actor.id:
        raise NotAllowed(_l("Only the ticket's assignee adds or removes a colleague; you may watch it yourself."))


def watch(actor: User, ticket: Ticket, watcher: User, now: datetime | None = None) -> bool:
    """Make ``watcher`` follow ``ticket``; False when they already did. Audited "watcher_added"."""
    _may_change(actor, ticket, watcher)
    if db.session.get(TicketWatcher, (ticket.id, watcher.id)) is not None:
        return False
    db.session.add(TicketWatcher(ticket_id=ticket.id, user_id=watcher.id, added_by_id=actor.id,
                                 created_at=now or utcnow()))
    audit.record(actor, "watcher_added", ticket, {"watcher_id": {"before": None, "after": watcher.id}})
    db.session.flush()
    return True


def unwatch(actor: User, ticket: Ticket, watcher: User) -> bool:
    """Stop ``watcher`` following ``ticket``; False when they did not. Audited "watcher_removed"."""
    _may_change(actor, ticket, watcher)
    found = db.session.get(TicketWatcher, (ticket.id, watcher.id))
    if found is None:
        return False
    db.session.delete(found)
    audit.record(actor, "watcher_removed", ticket, {"watcher_id": {"before": watcher.id, "after": None}})
    db.session.flush()
    return True


def watchers_of(ticket: Ticket) -> list[User]:
    """The active staff watching ``ticket``, by name: who is told what its assignee is told.

    The assignee may be among them (they watched before taking it); a caller that adds the assignee
    removes the duplicate. Deactivated accounts and council users are never returned.
    """
    return list(db.session.scalars(
        select(User).join(TicketWatcher, TicketWatcher.user_id == User.id)
        .where(TicketWatcher.ticket_id == ticket.id, User.is_active, User.role.in_(list(STAFF_ROLES)))
        .order_by(User.name, User.id)))


def is_watching(user: User, ticket: Ticket) -> bool:
    """Whether ``user`` watches ``ticket``."""
    return db.session.get(TicketWatcher, (ticket.id, user.id)) is not None
