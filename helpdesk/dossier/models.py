"""The Decidim version history of the platforms: each version an instance was seen running, from when."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.core.models import UTCDateTime, utcnow
from helpdesk.extensions import db


class InstanceVersion(db.Model):
    """An instance's Decidim version as first seen: a row each time its ``decidim_version`` changes (history.py)."""

    __tablename__ = "instance_versions"
    # The dossier reads an instance's history in order.
    __table_args__ = (Index("ix_instance_versions_instance_seen", "instance_id", "first_seen_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id"))
    version: Mapped[str] = mapped_column(String(32))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    instance = relationship("PlatformInstance")

    def __repr__(self) -> str:
        return f"<InstanceVersion {self.instance_id} {self.version}>"
