"""Planned maintenance: a window (start, end, a reason shown to councils) over one or many instances. The
monitor opens no outage ticket for an instance inside one, and its checks there are left out of the
availability figures; the councils are told before (helpdesk/status). Times are stored in UTC."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ColumnElement, ForeignKey, Index, String, Table, Text, and_, exists, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.core.models import TimestampMixin, UTCDateTime
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance

REASON_MAX_LENGTH = 2000

maintenance_instances = Table(
    "maintenance_window_instances", db.metadata,
    Column("window_id", ForeignKey("maintenance_windows.id", ondelete="CASCADE"), primary_key=True),
    Column("instance_id", ForeignKey("platform_instances.id", ondelete="CASCADE"), primary_key=True),
    # The primary key answers "the instances of this window"; this one "the windows of this instance" (the
    # monitor's question at every check, and the council's status page).
    Index("ix_maintenance_window_instances_instance_id_window_id", "instance_id", "window_id"),
)


class MaintenanceWindow(TimestampMixin, db.Model):
    """A planned stop of some instances. ``revision`` grows with every change the councils should hear of
    (times, reason, instances): a notice told at an older revision is told again."""

    __tablename__ = "maintenance_windows"
    __table_args__ = (Index("ix_maintenance_windows_starts_at", "starts_at"),
                      Index("ix_maintenance_windows_ends_at", "ends_at"))
    AUDITED = ("starts_at", "ends_at", "reason", "instances")

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(Text)  # shown to the councils, in the words the technician wrote
    revision: Mapped[int] = mapped_column(default=1)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    instances: Mapped[list[PlatformInstance]] = relationship(secondary=maintenance_instances,
                                                             order_by=PlatformInstance.base_url)
    created_by = relationship("User")

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def is_current(self, now: datetime) -> bool:
        return not self.is_cancelled and self.starts_at <= now < self.ends_at

    def has_ended(self, now: datetime) -> bool:
        return self.ends_at <= now

    @property
    def council_ids(self) -> set[int]:
        return {item.council_id for item in self.instances}

    def __repr__(self) -> str:
        return f"<MaintenanceWindow {self.id} {self.starts_at:%Y-%m-%d %H:%M}>"


class MaintenanceNotice(db.Model):
    """What a council was last told of a window: the window's revision then, and whether it was the plan or
    its cancellation. One row per window and council, so each is told once per change."""

    __tablename__ = "maintenance_notices"
    __table_args__ = (Index("uq_maintenance_notices_window_id_council_id", "window_id", "council_id", unique=True),)

    id: Mapped[int] = mapped_column(primary_key=True)
    window_id: Mapped[int] = mapped_column(ForeignKey("maintenance_windows.id", ondelete="CASCADE"))
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # planned or cancelled
    told_at: Mapped[datetime] = mapped_column(UTCDateTime)


def covering(instance_id: ColumnElement[int] | int, moment: ColumnElement[datetime] | datetime) -> ColumnElement[bool]:
    """The condition "a window not cancelled covers ``instance_id`` at ``moment``" (columns or values)."""
    return exists(select(maintenance_instances.c.window_id).join(
        MaintenanceWindow, MaintenanceWindow.id == maintenance_instances.c.window_id).where(
        maintenance_instances.c.instance_id == instance_id, MaintenanceWindow.cancelled_at.is_(None),
        MaintenanceWindow.starts_at <= moment, MaintenanceWindow.ends_at > moment))


def window_now(instance_id: int, now: datetime) -> MaintenanceWindow | None:
    """The window ``instance_id`` is inside at ``now`` (the one ending last, if several overlap), or None."""
    return db.session.scalar(select(MaintenanceWindow).join(
        maintenance_instances, maintenance_instances.c.window_id == MaintenanceWindow.id).where(
        and_(maintenance_instances.c.instance_id == instance_id, MaintenanceWindow.cancelled_at.is_(None),
             MaintenanceWindow.starts_at <= now, MaintenanceWindow.ends_at > now))
        .order_by(MaintenanceWindow.ends_at.desc()).limit(1))
