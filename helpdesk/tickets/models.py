"""Tickets, their messages, attachments and phone calls; unread markers; canned replies."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import User
from helpdesk.core.models import TimestampMixin, UTCDateTime, council_scope, enum_type, utcnow
from helpdesk.extensions import db
from helpdesk.tickets.states import (COUNCIL_VISIBLE_KINDS, CallDirection, Category, Channel, MessageKind, Priority,
                                     TicketStatus)

SUBJECT_MAX_LENGTH = 200
BODY_MAX_LENGTH = 100_000
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024  # per file
MESSAGE_ATTACHMENTS_MAX_BYTES = 25 * 1024 * 1024  # all files of one message
FILENAME_MAX_LENGTH = 200


class Ticket(TimestampMixin, db.Model):
    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status_updated_at", "status", "updated_at"),
        Index("ix_tickets_assignee_id_status", "assignee_id", "status"),
        Index("ix_tickets_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # the ticket number people quote: #123
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX_LENGTH))
    status: Mapped[TicketStatus] = mapped_column(enum_type(TicketStatus), default=TicketStatus.NEW)
    priority: Mapped[Priority] = mapped_column(enum_type(Priority), default=Priority.NORMAL, index=True)
    category: Mapped[Category] = mapped_column(enum_type(Category), default=Category.OTHER, index=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel), index=True)
    council_id: Mapped[int | None] = mapped_column(ForeignKey("councils.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("platform_instances.id"), index=True)
    # Who asked: a known contact, or just an address or number (unknown senders are ticketed too).
    requester_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    requester_email: Mapped[str | None] = mapped_column(String(254), index=True)
    requester_phone: Mapped[str | None] = mapped_column(String(20))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest message from anyone: what "unread" compares against.
    activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    version: Mapped[int] = mapped_column(default=1)
    # Set by the services when something a person would call an update happens (not by SLA bookkeeping).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # SLA clocks (see helpdesk/tickets/clocks.py): due and warning times while a clock runs, the targets
    # that applied, the business time each clock used when it stopped, and which notices went out.
    sla_policy_id: Mapped[int | None] = mapped_column(ForeignKey("sla_policies.id"), index=True)
    first_response_target_seconds: Mapped[int | None]
    first_response_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_business_seconds: Mapped[int | None]
    first_response_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_target_seconds: Mapped[int | None]
    resolution_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_business_seconds: Mapped[int | None]
    resolution_warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The earliest due and warning time among the running clocks: what the inbox sorts and filters by.
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    next_warn_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)

    __mapper_args__ = {"version_id_col": version}

    council = relationship("Council", lazy="joined")
    instance = relationship("PlatformInstance", lazy="joined")
    requester_contact = relationship("Contact")
    assignee: Mapped[User | None] = relationship(lazy="joined")
    merged_into: Mapped[Ticket | None] = relationship(remote_side=[id])
    messages: Mapped[list[Message]] = relationship(back_populates="ticket", order_by="Message.id",
                                                   foreign_keys="Message.ticket_id")
    sla_policy = relationship("SlaPolicy")
    pauses: Mapped[list[TicketPause]] = relationship(back_populates="ticket", order_by="TicketPause.id",
                                                     cascade="all, delete-orphan")

    AUDITED = ("subject", "status", "priority", "category", "channel", "council_id", "instance_id",
               "requester_contact_id", "requester_name", "requester_email", "requester_phone", "assignee_id")

    @property
    def number(self) -> int:
        return self.id

    @property
    def reference(self) -> str:
        return f"#{self.id}"

    @property
    def requester_label(self) -> str:
        return self.requester_name or self.requester_email or self.requester_phone or "—"

    @staticmethod
    def visible_to(user) -> ColumnElement[bool]:
        """The query condition for the tickets ``user`` may see."""
        return council_scope(Ticket.council_id, user)

    def can_view(self, user) -> bool:
        return user.is_staff or (self.council_id is not None and user.council_id == self.council_id)

    def __repr__(self) -> str:
        return f"<Ticket #{self.id} {self.status.value}>"


class Message(db.Model):
    __tablename__ = "messages"
    __table_args__ = (Index("ix_messages_ticket_id_id", "ticket_id", "id"),
                      Index("ix_messages_message_id", "message_id"),
                      # "Was this sender acknowledged in the last minutes?", asked for every new mail ticket.
                      Index("ix_messages_acknowledged_to", "to_addresses", "created_at",
                            sqlite_where=text("kind = 'acknowledgement'"),
                            postgresql_where=text("kind = 'acknowledgement'")))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"))
    kind: Mapped[MessageKind] = mapped_column(enum_type(MessageKind))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)  # staff or council user
    from_name: Mapped[str] = mapped_column(String(200), default="")
    from_address: Mapped[str] = mapped_column(String(254), default="")
    to_addresses: Mapped[str] = mapped_column(Text, default="")
    cc_addresses: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(String(998), default="")
    message_id: Mapped[str | None] = mapped_column(String(998))
    body_text: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")  # sanitised with nh3; empty for plain text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a delivery failure came back for it
    # The mail's Message-ID had been used by a different message before: shown, so nobody trusts it.
    is_message_id_reused: Mapped[bool] = mapped_column(default=False)

    ticket: Mapped[Ticket] = relationship(back_populates="messages", foreign_keys=[ticket_id])
    author: Mapped[User | None] = relationship(foreign_keys=[author_id], lazy="joined")
    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id])
    attachments: Mapped[list[Attachment]] = relationship(back_populates="message", order_by="Attachment.id",
                                                         cascade="all, delete-orphan")
    call: Mapped[Call | None] = relationship(back_populates="message", uselist=False)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def is_visible_to_council(self) -> bool:
        return self.kind in COUNCIL_VISIBLE_KINDS and not self.is_deleted

    @property
    def author_label(self) -> str:
        if self.author is not None:
            return self.author.name
        return self.from_name or self.from_address or "—"


class Attachment(db.Model):
    """A file of a message; its bytes are stored once per SHA-256 under the instance folder."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), index=True)
    filename: Mapped[str] = mapped_column(String(FILENAME_MAX_LENGTH))
    content_type: Mapped[str] = mapped_column(String(127))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64), index=True)

    message: Mapped[Message] = relationship(back_populates="attachments")


class Call(db.Model):
    """A phone call to or from the support number, logged on a ticket."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    direction: Mapped[CallDirection] = mapped_column(enum_type(CallDirection))
    caller_number: Mapped[str] = mapped_column(String(20), default="", index=True)
    caller_name: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_seconds: Mapped[int] = mapped_column(default=0)
    summary: Mapped[str] = mapped_column(Text)
    logged_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))

    message: Mapped[Message] = relationship(back_populates="call")
    logged_by: Mapped[User] = relationship()

    @property
    def ticket(self) -> Ticket:
        return self.message.ticket


class TicketPause(db.Model):
    """A stretch of time that SLA clocks do not count: waiting on the council, or resolved until reopened."""

    __tablename__ = "ticket_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # "pending" (both clocks) or "resolved" (resolution)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship(back_populates="pauses")


class TicketRead(db.Model):
    """When a user last opened a ticket: newer activity shows it as unread for them."""

    __tablename__ = "ticket_reads"
    __table_args__ = (UniqueConstraint("user_id", "ticket_id", name="uq_ticket_reads_user_id_ticket_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedReply(TimestampMixin, db.Model):
    """A ready-made reply; placeholders such as {requester_name} are filled in per ticket."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), unique=True)
    body: Mapped[str] = mapped_column(Text)
    is_active: Mapped[bool] = mapped_column(default=True)

    AUDITED = ("title", "body", "is_active")
