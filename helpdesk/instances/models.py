"""A council's platform instance (one Decidim organisation)."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ColumnElement, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from helpdesk.auth.models import Role
from helpdesk.core.models import TimestampMixin, UTCDateTime, council_scope, enum_type
from helpdesk.extensions import db
from helpdesk.instances.states import InstanceStatus

URL_MAX_LENGTH = 255
VERSION_PATTERN = r"^\d+\.\d+(\.\d+)?([.-][0-9A-Za-z.]+)?$"

# Decidim's participatory spaces and components, by manifest name (see shared/fixtures/decidim/NOTES.md).
KNOWN_MODULES = {
    "participatory_processes": _l("Participatory processes"),
    "assemblies": _l("Assemblies"),
    "conferences": _l("Conferences"),
    "initiatives": _l("Initiatives"),
    "proposals": _l("Proposals"),
    "meetings": _l("Meetings"),
    "surveys": _l("Surveys"),
    "budgets": _l("Budgets"),
    "accountability": _l("Accountability"),
    "pages": _l("Pages"),
    "blogs": _l("Blog"),
    "debates": _l("Debates"),
    "sortitions": _l("Sortitions"),
    "elections": _l("Elections"),
}

INSTANCE_EDITORS = frozenset({Role.ADMIN, Role.TECHNICIAN})


class PlatformInstance(TimestampMixin, db.Model):
    __tablename__ = "platform_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    base_url: Mapped[str] = mapped_column(String(URL_MAX_LENGTH), unique=True)
    decidim_version: Mapped[str] = mapped_column(String(32), default="")
    enabled_modules: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[InstanceStatus] = mapped_column(enum_type(InstanceStatus),
                                                   default=InstanceStatus.PROVISIONING, index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # What the platform itself said at the last refresh (see instances/decidim.py).
    application_name: Mapped[str] = mapped_column(String(200), default="")
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    spaces: Mapped[list[dict]] = mapped_column(JSON, default=list)
    facts_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    facts_error: Mapped[str] = mapped_column(Text, default="")  # empty when the last refresh worked
    # Health, as the monitor last saw it (see tickets/outages.py).
    health: Mapped[str] = mapped_column(String(16), default="unknown")  # up, down or unknown
    failures_in_a_row: Mapped[int] = mapped_column(default=0)
    health_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime)

    council = relationship("Council", backref=backref("instances", order_by="PlatformInstance.id"))

    AUDITED = ("base_url", "decidim_version", "enabled_modules", "status", "notes")

    @property
    def host(self) -> str:
        return self.base_url.removeprefix("https://")

    @staticmethod
    def visible_to(user) -> ColumnElement[bool]:
        """The query condition for the instances ``user`` may see."""
        return council_scope(PlatformInstance.council_id, user)

    def can_view(self, user) -> bool:
        return user.is_staff or user.council_id == self.council_id

    def can_edit(self, user) -> bool:
        return user.role in INSTANCE_EDITORS

    def __repr__(self) -> str:
        return f"<PlatformInstance {self.base_url}>"


class DecidimRelease(TimestampMixin, db.Model):
    """A Decidim release as the desk knows it (seeded, kept up to date by administrators): the desk never
    needs the internet to say whether an instance is current, behind or unsupported."""

    __tablename__ = "decidim_releases"
    AUDITED = ("version", "released_on", "supported", "notes")

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    released_on: Mapped[date] = mapped_column(Date)
    supported: Mapped[bool] = mapped_column(default=False)  # upstream still gives it security fixes
    notes: Mapped[str] = mapped_column(Text, default="")


class HealthCheck(db.Model):
    """One look at an instance: kept for two days, then summed up in HealthDay."""

    __tablename__ = "health_checks"
    __table_args__ = (Index("ix_health_checks_instance_checked", "instance_id", "checked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    up: Mapped[bool]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int | None]
    error: Mapped[str] = mapped_column(String(500), default="")


class HealthDay(db.Model):
    """An instance's checks of one day (UTC): how many, how many up, their mean latency."""

    __tablename__ = "health_days"
    __table_args__ = (UniqueConstraint("instance_id", "day", name="uq_health_days_instance_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    checks: Mapped[int] = mapped_column(default=0)
    up_checks: Mapped[int] = mapped_column(default=0)
    latency_ms_total: Mapped[int] = mapped_column(default=0)


class Outage(db.Model):
    """A time an instance stopped answering, from the first failed check to the first good one after."""

    __tablename__ = "outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", use_alter=True))
    last_error: Mapped[str] = mapped_column(String(500), default="")
    noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last failure note on the ticket

    instance = relationship(PlatformInstance, backref=backref("outages", order_by="Outage.started_at.desc()"))
