"""The audit trail: who did what to which record, when, with the values before and after."""
from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any, Iterable, Protocol

from sqlalchemy import JSON, ForeignKey, Index, String, insert, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.core.models import UTCDateTime, utcnow
from helpdesk.extensions import Model, db


class Actor(Protocol):
    id: int
    email: str


class AuditEvent(Model):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_object", "object_type", "object_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The actor's e-mail at the time, kept even if the user is renamed; "system" for jobs and the CLI.
    actor_label: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(64))
    object_id: Mapped[int]
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor = relationship("User", lazy="joined")


def plain(value: Any) -> Any:
    """A value as JSON can keep it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (list, tuple, set)):
        return [plain(item) for item in value]
    return value


def snapshot(target: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of ``target`` as plain values, to compare before and after a change."""
    return {field: plain(getattr(target, field)) for field in fields}


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The fields whose value changed, each with ``before`` and ``after`` (empty and missing count as equal)."""
    return {field: {"before": before.get(field), "after": value}
            for field, value in after.items() if (before.get(field) or None) != (value or None)}


_COLLECTING = "audit_events"  # the key, in the session's info, of the events ``collected`` keeps aside


def record(actor: Actor | None, action: str, target: Any, changes: dict[str, Any] | None = None) -> None:
    """Add an audit event for ``target`` to the transaction (flushed, never committed, here)."""
    if target.id is None:
        db.session.flush()
    values = row(actor, action, target, changes)
    if (kept := db.session.info.get(_COLLECTING)) is not None:
        kept.append(values)
    else:
        db.session.add(AuditEvent(**values))  # written with the rest of the transaction


@contextmanager
def collected() -> Iterator[None]:
    """Keep the events recorded within aside and write them in one statement, by ``write_collected``,
    before the transaction commits (mail intake takes a chunk of messages so: an object per event costs
    more than the event)."""
    db.session.info[_COLLECTING] = []
    try:
        yield
    finally:
        db.session.info.pop(_COLLECTING, None)


def write_collected() -> None:
    """Write the events ``collected`` kept aside so far, in the current transaction."""
    kept = db.session.info.get(_COLLECTING)
    if kept:
        db.session.execute(insert(AuditEvent), kept)
        kept.clear()


def row(actor: Actor | None, action: str, target: Any, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    """The columns of an audit event for ``target`` (which has its id)."""
    return {"actor_id": actor.id if actor else None, "actor_label": actor.email if actor else "system",
            "action": action, "object_type": target.__tablename__, "object_id": target.id,
            "changes": changes or {}}


def trail(target: Any, limit: int = 200) -> list[AuditEvent]:
    """The newest audit events of ``target`` first."""
    return list(db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.object_type == target.__tablename__, AuditEvent.object_id == target.id)
        .order_by(AuditEvent.id.desc()).limit(limit)))
