"""The sign-in record: every sign-in, failure, sign-out, reset, second-factor change and invitation, with
when, who, from where and how. Failures in it are also what throttling counts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, select

from helpdesk.auth.models import EMAIL_MAX_LENGTH, SignInEvent, SignInKind, User
from helpdesk.core.models import utcnow
from helpdesk.extensions import db


@dataclass(frozen=True)
class Client:
    """Where a request comes from: the address (after the trusted proxies) and the browser's own name."""

    address: str = ""
    user_agent: str = ""


def note(kind: SignInKind, *, user: User | None = None, email: str = "", client: Client = Client(),
         method: str = "", actor: User | None = None, detail: str = "", now: datetime | None = None) -> SignInEvent:
    """Add a line to the record, in the caller's transaction."""
    event = SignInEvent(kind=kind, user_id=user.id if user is not None else None,
                        email=(email or (user.email if user is not None else ""))[:EMAIL_MAX_LENGTH].lower(),
                        address=client.address[:64], user_agent=client.user_agent[:255], method=method[:20],
                        actor_id=actor.id if actor is not None else None, detail=detail[:255], at=now or utcnow())
    db.session.add(event)
    db.session.flush()  # counted by the next question on the record (throttling)
    return event


@dataclass(frozen=True)
class RecordFilter:
    email: str = ""
    kind: SignInKind | None = None
    address: str = ""
    since: datetime | None = None
    until: datetime | None = None  # exclusive


def search(where: RecordFilter) -> Select[tuple[SignInEvent]]:
    """The record's lines that match, newest first."""
    statement = select(SignInEvent).order_by(SignInEvent.at.desc(), SignInEvent.id.desc())
    if where.email:
        statement = statement.where(SignInEvent.email == where.email.strip().lower())
    if where.kind is not None:
        statement = statement.where(SignInEvent.kind == where.kind)
    if where.address:
        statement = statement.where(SignInEvent.address == where.address.strip())
    if where.since is not None:
        statement = statement.where(SignInEvent.at >= where.since)
    if where.until is not None:
        statement = statement.where(SignInEvent.at < where.until)
    return statement


def last_sign_in(user: User, before: datetime) -> SignInEvent | None:
    """The user's sign-in before the current one (``before``: when the current session began)."""
    return db.session.scalar(select(SignInEvent).where(
        SignInEvent.user_id == user.id, SignInEvent.kind == SignInKind.SIGNED_IN, SignInEvent.at < before)
        .order_by(SignInEvent.at.desc(), SignInEvent.id.desc()).limit(1))


def forget_older_than(days: int, now: datetime) -> int:
    """Delete the lines older than ``days`` (the retention period); how many."""
    result = db.session.execute(delete(SignInEvent).where(SignInEvent.at < now - timedelta(days=days)))
    return int(getattr(result, "rowcount", 0) or 0)
