"""A council's platform instance (one Decidim organisation)."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ColumnElement, Date, ForeignKey, String, Text
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
