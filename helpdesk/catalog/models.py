"""The Service Catalogue: resources, yearly calls, councils' requests, the grants they lead to, and the
renewal reminders already sent."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ColumnElement, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import Role, User
from helpdesk.catalog.states import GrantStatus, ProjectKind, RequestKind, RequestStatus
from helpdesk.core.models import TimestampMixin, UTCDateTime, council_scope, enum_type, utcnow
from helpdesk.extensions import db

TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 5000
LANGUAGES = {"ca": "Català", "es": "Castellano", "en": "English", "oc": "Aranès"}
# Who decides catalogue requests (starts the review, asks for information, grants, refuses): catalogue
# managers, and only they. Administrators run the desk (users, councils, calendars) but do not decide a
# council's grant; one who must stand in gives a person the role, which the audit trail records.
DECIDING_ROLES = frozenset({Role.CATALOGUE_MANAGER})


class Resource(TimestampMixin, db.Model):
    __tablename__ = "catalog_resources"
    AUDITED = ("name", "description", "requirements", "is_active")

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    requirements: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_active: Mapped[bool] = mapped_column(default=True)


class CatalogCall(TimestampMixin, db.Model):
    """The year's call: requests are filed between its opening and closing days (both included)."""

    __tablename__ = "catalog_calls"
    AUDITED = ("year", "opens_on", "closes_on")

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(unique=True)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)

    def is_open(self, today: date) -> bool:
        return self.opens_on <= today <= self.closes_on


class CatalogRequest(TimestampMixin, db.Model):
    __tablename__ = "catalog_requests"
    __table_args__ = (Index("ix_catalog_requests_council_year", "council_id", "resource_id", "year"),)
    AUDITED = ("status", "project_kind", "project_title", "project_description", "project_starts_on",
               "referent_contact_id", "instance_id", "desired_host", "languages", "accepts_terms")

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[RequestKind] = mapped_column(enum_type(RequestKind), default=RequestKind.NEW)
    status: Mapped[RequestStatus] = mapped_column(enum_type(RequestStatus), default=RequestStatus.DRAFT, index=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resources.id"))
    year: Mapped[int] = mapped_column(index=True)
    project_kind: Mapped[ProjectKind | None] = mapped_column(enum_type(ProjectKind))
    project_title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH), default="")
    project_description: Mapped[str] = mapped_column(Text, default="")
    project_starts_on: Mapped[date | None] = mapped_column(Date)
    referent_contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("platform_instances.id"), index=True)
    desired_host: Mapped[str] = mapped_column(String(255), default="")  # for a new instance
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    accepts_terms: Mapped[bool] = mapped_column(default=False)  # code of ethics and social contract
    renews_grant_id: Mapped[int | None] = mapped_column(ForeignKey("catalog_grants.id", use_alter=True))
    manager_message: Mapped[str] = mapped_column(Text, default="")  # what is asked for, or why refused
    council_answer: Mapped[str] = mapped_column(Text, default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    council = relationship("Council")
    resource = relationship(Resource)
    referent = relationship("Contact")
    instance = relationship("PlatformInstance")
    renews = relationship("Grant", foreign_keys=[renews_grant_id])

    @property
    def reference(self) -> str:
        return f"SC-{self.year}-{self.id:04d}"

    @staticmethod
    def visible_to(user) -> ColumnElement[bool]:
        return council_scope(CatalogRequest.council_id, user)

    @staticmethod
    def can_decide(user) -> bool:
        """Whether ``user`` decides catalogue requests (``DECIDING_ROLES``); services, screens and templates ask."""
        return getattr(user, "role", None) in DECIDING_ROLES

    @staticmethod
    def deciders() -> ColumnElement[bool]:
        """The same rule as a query condition: the active users who decide (and are told of grants ending)."""
        return User.role.in_(DECIDING_ROLES) & User.is_active


class Grant(TimestampMixin, db.Model):
    """A granted resource: from ``starts_on`` to ``ends_on`` (two years, extended by each renewal)."""

    __tablename__ = "catalog_grants"
    AUDITED = ("status", "starts_on", "ends_on", "instance_id")

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    resource_id: Mapped[int] = mapped_column(ForeignKey("catalog_resources.id"))
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("catalog_requests.id"))
    status: Mapped[GrantStatus] = mapped_column(enum_type(GrantStatus), default=GrantStatus.ACTIVE, index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date, index=True)
    renewals: Mapped[int] = mapped_column(default=0)
    provisioning_ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    lapsed_on: Mapped[date | None] = mapped_column(Date)

    council = relationship("Council")
    resource = relationship(Resource)
    instance = relationship("PlatformInstance", backref="grants")
    request = relationship(CatalogRequest, foreign_keys=[request_id])

    @staticmethod
    def visible_to(user) -> ColumnElement[bool]:
        return council_scope(Grant.council_id, user)


class RenewalReminder(db.Model):
    """A reminder sent: one per grant, end date and number of days before it, never twice."""

    __tablename__ = "catalog_renewal_reminders"
    __table_args__ = (UniqueConstraint("grant_id", "ends_on", "days_before", name="uq_catalog_renewal_reminders"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("catalog_grants.id"), index=True)
    ends_on: Mapped[date] = mapped_column(Date)
    days_before: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
