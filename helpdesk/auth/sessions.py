"""Sessions kept on the server: the cookie carries a random token, the database its digest and the session's
life. Signing out, changing the password or an administrator's deactivation ends the row, so a copied
cookie stops working at once; staff sessions also end after SESSION_IDLE_MINUTES_STAFF idle minutes (ENS)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from helpdesk.auth.models import SessionEnd, SignInMethod, User, UserSession, digest, new_token
from helpdesk.auth.record import Client
from helpdesk.extensions import db

#: Last activity is written at most this often, so that reading pages does not write on every request.
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Lifetimes:
    """How long a session lives: in all, and idle (staff only; council users' sessions end with ``total``)."""

    total: timedelta
    staff_idle: timedelta

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Lifetimes:
        return cls(timedelta(hours=config["SESSION_LIFETIME_HOURS"]),
                   timedelta(minutes=config["SESSION_IDLE_MINUTES_STAFF"]))


def open_session(user: User, method: SignInMethod, client: Client, now: datetime) -> UserSession:
    """A new session of ``user`` (a new token at every sign-in); the user's ``current_session`` from now on."""
    token = new_token()
    row = UserSession(user=user, token_digest=digest(token), method=method, address=client.address[:64],
                      user_agent=client.user_agent[:255], created_at=now, last_seen_at=now)
    row.token = token
    db.session.add(row)
    db.session.flush()
    user.current_session = row
    return row


def resume(token: str, now: datetime, lifetimes: Lifetimes) -> User | None:
    """The active user whose open session has this token, its last activity noted; None (and the session
    ended) when it was idle or too old."""
    row = db.session.scalar(select(UserSession).where(UserSession.token_digest == digest(token),
                                                      UserSession.ended_at.is_(None)))
    if row is None or not row.user.is_active:
        return None
    idle_limit = lifetimes.staff_idle if row.user.is_staff else lifetimes.total
    reason = (SessionEnd.EXPIRED if now - row.created_at >= lifetimes.total
              else SessionEnd.IDLE if now - row.last_seen_at >= idle_limit else None)
    if reason is not None:
        end(row, reason, now)
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    row.token = token
    row.user.current_session = row
    return row.user


def end(row: UserSession, reason: SessionEnd, now: datetime) -> None:
    if row.ended_at is None:
        row.ended_at, row.end_reason = now, reason


def end_all(user: User, reason: SessionEnd, now: datetime, *, keep: UserSession | None = None) -> int:
    """End every open session of ``user`` (but ``keep``); how many."""
    statement = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if keep is not None:
        statement = statement.where(UserSession.id != keep.id)
    result = db.session.execute(statement.values(ended_at=now, end_reason=reason),
                                execution_options={"synchronize_session": "fetch"})
    return int(getattr(result, "rowcount", 0) or 0)


def open_sessions(user: User, now: datetime, lifetimes: Lifetimes) -> list[UserSession]:
    """The user's sessions that still work, the most recently used first."""
    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user.id,
                                                        UserSession.ended_at.is_(None))
                              .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())).all()
    idle_limit = lifetimes.staff_idle if user.is_staff else lifetimes.total
    return [row for row in rows if now - row.created_at < lifetimes.total and now - row.last_seen_at < idle_limit]
