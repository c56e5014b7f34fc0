"""A council's platform instance (one Decidim organisation)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ColumnElement, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from helpdesk.auth.models import Role
from helpdesk.core.models import TimestampMixin, council_scope, enum_type
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
