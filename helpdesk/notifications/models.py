"""Each person's notifications (what happened on the desk that concerns them) and their e-mail choices."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import User
from helpdesk.core.models import UTCDateTime, enum_type
from helpdesk.extensions import Model
from helpdesk.tickets.models import Ticket

SUMMARY_MAX_LENGTH = 300


class NotificationKind(enum.Enum):
    ASSIGNED = "assigned"  # someone else assigned a ticket to me
    COUNCIL_REPLIED = "council_replied"  # the requester's side wrote on my ticket
    MENTIONED = "mentioned"  # an internal note names me (@handle)
    SLA_AT_RISK = "sla_at_risk"  # a clock of my ticket reached its warning share
    SLA_BREACHED = "sla_breached"  # a clock of my ticket passed its target
    OUTAGE = "outage"  # the monitor opened an outage ticket (technicians and agents)
    RATED_NOT_GOOD = "rated_not_good"  # the requester rated the resolution of my ticket "not good"

    @property
    def label(self) -> str:
        return str(KIND_LABELS[self])


KIND_LABELS = {
    NotificationKind.ASSIGNED: _l("A ticket is assigned to me"),
    NotificationKind.COUNCIL_REPLIED: _l("The council answers one of my tickets"),
    NotificationKind.MENTIONED: _l("An internal note mentions me"),
    NotificationKind.SLA_AT_RISK: _l("One of my tickets is at risk of missing its SLA"),
    NotificationKind.SLA_BREACHED: _l("One of my tickets missed its SLA"),
    NotificationKind.OUTAGE: _l("An outage ticket is opened"),
    NotificationKind.RATED_NOT_GOOD: _l("The requester rates the resolution of one of my tickets “not good”"),
}


class Notification(Model):
    __tablename__ = "notifications"
    # The bell counts a person's unread ones and the list pages through them newest first: one index serves both.
    __table_args__ = (Index("ix_notifications_user_id_read_at_created_at", "user_id", "read_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # What it is about as written (the ticket's subject, the note's first words): the sentence around it is
    # put together when shown, in the reader's language of the moment.
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX_LENGTH), default="")
    # For the SLA kinds, which clock ("first_response" or "resolution"); else empty.
    detail: Mapped[str] = mapped_column(String(32), default="")
    url: Mapped[str] = mapped_column(String(500))  # a path on the desk: /tickets/12#message-34
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id], lazy="joined")
    ticket: Mapped[Ticket | None] = relationship(lazy="raise")

    @property
    def is_read(self) -> bool:
        return self.read_at is not None

    def title(self) -> str:
        """What happened, in one sentence in the current language."""
        reference = f"#{self.ticket_id}" if self.ticket_id else ""
        actor = self.actor.name if self.actor is not None else ""
        kind, first = self.kind, self.detail == "first_response"
        if kind is NotificationKind.ASSIGNED:
            return _("%(actor)s assigned %(reference)s to you", actor=actor or _("The desk"), reference=reference)
        if kind is NotificationKind.COUNCIL_REPLIED:
            return _("The council answered %(reference)s", reference=reference)
        if kind is NotificationKind.MENTIONED:
            return _("%(actor)s mentioned you on %(reference)s", actor=actor or _("The desk"), reference=reference)
        if kind is NotificationKind.SLA_AT_RISK:
            return (_("The first response to %(reference)s is due soon", reference=reference) if first
                    else _("The resolution of %(reference)s is due soon", reference=reference))
        if kind is NotificationKind.SLA_BREACHED:
            return (_("The first response to %(reference)s is overdue", reference=reference) if first
                    else _("The resolution of %(reference)s is overdue", reference=reference))
        if kind is NotificationKind.RATED_NOT_GOOD:
            return _("The requester rated the resolution of %(reference)s “not good”", reference=reference)
        return _("Outage ticket %(reference)s opened", reference=reference)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.kind.value} for {self.user_id}>"


class NotificationPreference(Model):
    """A person's choice for one kind; no row is the default: in the desk only, no e-mail."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[NotificationKind] = mapped_column(enum_type(NotificationKind), primary_key=True)
    by_email: Mapped[bool] = mapped_column(default=False)
