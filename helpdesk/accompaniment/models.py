"""Accompaniment requests (assessed and authorised by the OTPGL) and their sessions."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.accompaniment.states import Need, RequestStatus, SessionStatus
from helpdesk.core.models import TimestampMixin, UTCDateTime, council_scope, enum_type
from helpdesk.extensions import db

TEXT_MAX_LENGTH = 5000


class AccompanimentRequest(TimestampMixin, db.Model):
    __tablename__ = "accompaniment_requests"
    AUDITED = ("status", "action", "description", "needs", "preferred_dates", "attendees")

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id"), index=True)
    status: Mapped[RequestStatus] = mapped_column(enum_type(RequestStatus), default=RequestStatus.REQUESTED,
                                                  index=True)
    action: Mapped[str] = mapped_column(String(200))  # e.g. "Pressupostos participatius 2027"
    description: Mapped[str] = mapped_column(Text, default="")
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    preferred_dates: Mapped[str] = mapped_column(Text, default="")
    attendees: Mapped[str] = mapped_column(Text, default="")  # who will attend, as the council says it
    assessment: Mapped[str] = mapped_column(Text, default="")  # the OTPGL's, written with its decision
    question: Mapped[str] = mapped_column(Text, default="")  # what the OTPGL asks for
    council_answer: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    council = relationship("Council")
    instance = relationship("PlatformInstance")
    decided_by = relationship("User", foreign_keys=[decided_by_id])
    sessions = relationship("AccompanimentSession", back_populates="request",
                            order_by="AccompanimentSession.starts_at")

    @property
    def reference(self) -> str:
        return f"AC-{self.id:04d}"

    @property
    def need_labels(self) -> list[str]:
        return [Need(value).label for value in self.needs]

    @staticmethod
    def visible_to(user) -> ColumnElement[bool]:
        return council_scope(AccompanimentRequest.council_id, user)


class AccompanimentSession(TimestampMixin, db.Model):
    """One session; its invitation keeps ``uid`` for life and raises ``sequence`` with each change."""

    __tablename__ = "accompaniment_sessions"
    __table_args__ = (Index("ix_accompaniment_sessions_adviser_start", "adviser_id", "starts_at"),)
    AUDITED = ("kind", "starts_at", "duration_minutes", "online", "location", "adviser_id", "attendees", "status")

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("accompaniment_requests.id"), index=True)
    kind: Mapped[Need] = mapped_column(enum_type(Need))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    duration_minutes: Mapped[int]
    online: Mapped[bool] = mapped_column(default=True)
    location: Mapped[str] = mapped_column(String(500))  # the link, or the place
    adviser_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    attendees: Mapped[list[str]] = mapped_column(JSON, default=list)  # e-mail addresses
    status: Mapped[SessionStatus] = mapped_column(enum_type(SessionStatus), default=SessionStatus.PLANNED)
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    notes_for_council: Mapped[str] = mapped_column(Text, default="")
    internal_notes: Mapped[str] = mapped_column(Text, default="")
    follow_up_actions: Mapped[str] = mapped_column(Text, default="")
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    request = relationship(AccompanimentRequest, back_populates="sessions")
    adviser = relationship("User")

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)
