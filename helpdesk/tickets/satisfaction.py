"""Satisfaction: the requester's rating of a resolved ticket (good or not good, and a comment).

A rating belongs to one resolution of a ticket (its ``resolved_at``): reopening and resolving again asks
anew, and a link from the earlier resolution's mail no longer rates. It can be changed while the ticket
stays resolved; once closed it stands. Rating never changes the ticket's status. "Not good" is announced
(``rated_not_good``) for notifications to tell the ticket's agent.

The mail's links carry a signed token (itsdangerous, keyed by SECRET_KEY, with a salt of its own so that no
other signed value can pass for one) naming the ticket and the resolution: they work without signing in,
and a forged or altered one is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from blinker import Namespace
from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import User
from helpdesk.core.models import UTCDateTime
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket

COMMENT_MAX_LENGTH = 2000

_signals = Namespace()
#: Sent when a requester rates a resolution "not good" (sender: the ticket; rating, now): notifications listen.
rated_not_good = _signals.signal("rated-not-good")


class SatisfactionRating(db.Model):
    """The requester's rating of one resolution of a ticket."""

    __tablename__ = "satisfaction_ratings"
    __table_args__ = (UniqueConstraint("ticket_id", "resolved_at", name="uq_satisfaction_ratings_ticket_id_resolved_at"),
                      # The report and the renewal dossier count ratings given in a period.
                      Index("ix_satisfaction_ratings_rated_at", "rated_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime)  # which resolution of the ticket it rates
    is_good: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")  # plain text, shown escaped
    # Whose work it rates: the ticket's assignee when it was rated (the report's "agent").
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The council user who rated in the portal; none: from the mail's link.
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # first given: what periods count
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship()
    agent: Mapped[User | None] = relationship(foreign_keys=[agent_id])
    rated_by: Mapped[User | None] = relationship(foreign_keys=[rated_by_id])

    def __repr__(self) -> str:
        return f"<SatisfactionRating #{self.ticket_id} {'good' if self.is_good else 'not good'}>"


# --- counting ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """How many ratings were good and not good."""

    good: int
    not_good: int

    @property
    def total(self) -> int:
        return self.good + self.not_good

    @property
    def share_good(self) -> float | None:
        """The good ones' share (0 to 1); None when nobody rated."""
        return self.good / self.total if self.total else None


def summary(since: datetime, until: datetime, council_id: int | None = None) -> Summary:
    """The ratings given in [since, until), of one council's tickets or of all."""
    statement = (select(SatisfactionRating.is_good, func.count(SatisfactionRating.id))
                 .where(SatisfactionRating.rated_at >= since, SatisfactionRating.rated_at < until)
                 .group_by(SatisfactionRating.is_good))
    if council_id is not None:
        statement = statement.join(Ticket, Ticket.id == SatisfactionRating.ticket_id).where(
            Ticket.council_id == council_id)
    counts = {bool(is_good): count for is_good, count in db.session.execute(statement)}
    return Summary(good=counts.get(True, 0), not_good=counts.get(False, 0))
