"""A lease in the database: whoever holds it, and keeps renewing it, is the one that does the work.

Two scheduler processes (on one machine or two) share the database; the first takes the lease, the
other stands by and takes over once the holder stops renewing and the lease runs out.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, String, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.core.models import UTCDateTime
from helpdesk.extensions import Model, db


class Lease(Model):
    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


def acquire(name: str, holder: str, now: datetime, duration: timedelta) -> bool:
    """Take or renew the lease; True while ``holder`` has it. Commits."""
    # Session.execute is typed as returning a Result; an UPDATE's is a CursorResult, which has the rowcount.
    taken = cast(CursorResult[Any], db.session.execute(
        update(Lease).where(Lease.name == name, or_(Lease.holder == holder, Lease.expires_at < now))
        .values(holder=holder, expires_at=now + duration).execution_options(synchronize_session=False)))
    if taken.rowcount:
        db.session.commit()
        return True
    if db.session.get(Lease, name) is not None:
        db.session.rollback()
        return False
    try:
        db.session.add(Lease(name=name, holder=holder, expires_at=now + duration))
        db.session.commit()
        return True
    except IntegrityError:  # another process created it at the same moment
        db.session.rollback()
        return False


def release(name: str, holder: str, now: datetime) -> None:
    """Give the lease up at once (on a clean stop), so the standby need not wait for it to run out."""
    db.session.execute(update(Lease).where(Lease.name == name, Lease.holder == holder)
                       .values(expires_at=now - timedelta(seconds=1)))
    db.session.commit()
