"""Column types and mixins shared by every domain's models."""
from __future__ import annotations

import enum
from datetime import datetime, timezone
from typing import Any, Protocol

from sqlalchemy import ColumnElement, DateTime, Enum, SQLColumnExpression, TypeDecorator, false, true
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.extensions import db


def utcnow() -> datetime:
    """The current instant as an aware UTC datetime."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime on every database (SQLite keeps no zone, so it is put back on load)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def enum_type(enum_class: type[enum.Enum]) -> Enum:
    """Store an enum by its value in a plain string column, portable across databases."""
    return Enum(enum_class, native_enum=False, length=32, validate_strings=True,
                values_callable=lambda members: [member.value for member in members])


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Viewer(Protocol):
    """Who looks at records: staff see every council's, anyone else only their own council's (if any)."""

    @property
    def is_staff(self) -> bool: ...

    @property
    def council_id(self) -> int | None: ...


def council_scope(council_id: SQLColumnExpression[int | None], user: Viewer) -> ColumnElement[bool]:
    """The query condition that limits ``council_id`` to what ``user`` may see: all for staff, else their council."""
    if user.is_staff:
        return true()
    if user.council_id is None:
        return false()
    return council_id == user.council_id


def transaction_cache(name: str) -> dict[Any, Any]:
    """A dict kept as long as the current database transaction: for answers asked again and again within
    one (importing mail chooses the SLA policy and the FAQ links of many tickets)."""
    session = db.session()
    transaction = session.get_transaction()
    held = session.info.get(name)
    if held is None or held[0] is None or held[0] is not transaction:
        held = session.info[name] = (transaction, {})
    cache: dict[Any, Any] = held[1]  # each caller keeps its own kind of answers under its own name
    return cache
