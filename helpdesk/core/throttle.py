"""Rate limits shared by every web worker, kept in the database (the one store all workers share).

Each key (``"faq-suggest:203.0.113.7"``) gets ``limit`` hits at once, then one more every ``per / limit``:
the generic cell rate algorithm (GCRA), a leaky bucket that needs a single number per key, the instant its
bucket is empty again (``drained_at_ms``). A hit is one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``, so
two workers counting the same key at the same moment cannot both take the last place, on SQLite (which
serialises writers) as on PostgreSQL (which locks the row). A refused hit changes nothing but a count, so
``Retry-After`` is exact and a client that keeps knocking is not kept out longer than it was told.

Use it on any view, below the route (and below ``login_required`` when there is one)::

    RESET_REQUESTS, RESET_REQUESTS_PER = 5, timedelta(hours=1)

    @bp.route("/password/forgotten", methods=["GET", "POST"])
    @rate_limited("password-reset", limit=RESET_REQUESTS, per=RESET_REQUESTS_PER, methods=("POST",))
    def forgotten_password(): ...

- The name comes first in the key, so each use counts on its own; name each use after its form or endpoint.
- ``by`` says whose hits are counted: the client's address by default (``request.remote_addr``, which
  ProxyFix sets from ``X-Forwarded-For`` when ``TRUSTED_PROXIES`` is set); :func:`reader_or_address` counts a
  signed-in account on its own (colleagues behind one office address do not share its limit); any function
  of the request will do (add the view's arguments to count per article, per e-mail address …).
- ``methods`` counts only those methods (a form's POST, not the GET that shows it).
- Beyond the limit the view does not run: the answer is ``429 Too Many Requests`` with ``Retry-After`` and
  a translated message, as JSON when the endpoint is JSON (``json=True``) or the client asks for JSON,
  else as the desk's error page.
- To count without refusing (a view counter that simply stops counting), call :func:`hit` and look at
  :attr:`Decision.allowed`.

The counter is written and committed on a connection of its own, never in the view's session: a view that
fails and rolls back still has its hit counted (else failing on purpose would be free), and the counter's
commit never commits the view's half-done work. On SQLite that other connection must wait for the file's
one writer, so :func:`hit` refuses to run once the view's session has written (it would wait for itself):
count first, then write, which is what the decorator does.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import math
import sqlite3
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from flask import jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import format_timedelta
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import BigInteger, Integer, String, Table, case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.core.models import utcnow
from helpdesk.extensions import Model, db

log = logging.getLogger(__name__)
KEY_LENGTH = 200
# Expired rows (an empty bucket is the same as no row) are deleted by the hits themselves, a few at a time,
# so that no job is needed and no hit waits for another's clean-up.
CLEANUP_BATCH = 50

View = TypeVar("View", bound=Callable[..., ResponseReturnValue])


class RateLimit(Model):
    """One key's bucket: the instant it is empty again, and the hits refused since the last one allowed."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(KEY_LENGTH), primary_key=True)
    # Milliseconds since the epoch, not a UTC datetime like every other *_at: the decision is arithmetic
    # inside the one upsert, and SQLite keeps datetimes as text, with no arithmetic on them.
    drained_at_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    refused: Mapped[int] = mapped_column(Integer)


@dataclass(frozen=True)
class Decision:
    """Whether a hit may go ahead; if not, the whole seconds until one would."""

    allowed: bool
    retry_after: int = 0


def hit(key: str, limit: int, per: timedelta, now: datetime) -> Decision:
    """Count one hit on ``key`` (``limit`` at once, then one every ``per / limit``); commits on its own."""
    if limit < 1 or per <= timedelta(0):
        raise ValueError(f"a rate limit needs a positive limit and period, got {limit} per {per}")
    _refuse_inside_a_sqlite_write()
    if len(key) > KEY_LENGTH:  # an address and a long argument: still one key each, and it fits
        key = f"{key[:KEY_LENGTH - 65]}#{hashlib.sha256(key.encode()).hexdigest()}"
    period = int(per.total_seconds() * 1000)
    interval = max(period // limit, 1)
    moment = int(now.timestamp() * 1000)
    table = cast(Table, RateLimit.__table__)
    at = literal(moment, BigInteger)
    emptied = case((table.c.drained_at_ms > at, table.c.drained_at_ms), else_=at)
    fits = emptied + interval - at <= period
    dialect = sqlite if db.engine.dialect.name == "sqlite" else postgresql
    upsert = dialect.insert(table).values(key=key, drained_at_ms=moment + interval, refused=0)
    upsert = upsert.on_conflict_do_update(index_elements=[table.c.key], set_={
        "drained_at_ms": case((fits, emptied + interval), else_=table.c.drained_at_ms),
        "refused": case((fits, 0), else_=table.c.refused + 1)})
    # SKIP LOCKED: a row another worker is counting (or already deleting) is left for later, so a clean-up
    # never waits for, nor deadlocks with, another hit (SQLite has one writer at a time and ignores it).
    expired = (select(table.c.key).where(table.c.drained_at_ms < at)
               .limit(CLEANUP_BATCH).with_for_update(skip_locked=True))
    with db.engine.begin() as connection:  # its own connection and transaction: see the module's docstring
        drained_at, refused = connection.execute(
            upsert.returning(table.c.drained_at_ms, table.c.refused)).one()
        connection.execute(delete(table).where(table.c.key.in_(expired.scalar_subquery())))
    if not refused:
        return Decision(True)
    if refused == 1:  # once per episode, not once per knock
        log.warning("rate limit: %s went over %d per %s", key, limit, per)
    return Decision(False, max(1, math.ceil((drained_at + interval - period - moment) / 1000)))


def _refuse_inside_a_sqlite_write() -> None:
    session = db.session()
    if db.engine.dialect.name != "sqlite" or not session.in_transaction():
        return
    connection = session.connection().connection.dbapi_connection
    if isinstance(connection, sqlite3.Connection) and connection.in_transaction:
        raise RuntimeError("throttle.hit() after the session wrote: on SQLite the counter would wait for the "
                           "session's own lock; count before writing")


def client_address() -> str:
    """Who a hit is counted against by default: the client's address (after ProxyFix)."""
    return f"address:{request.remote_addr or 'unknown'}"


def reader_or_address() -> str:
    """A signed-in account on its own (an office shares one address), else the client's address."""
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.id}"
    return client_address()


def rate_limited(name: str, limit: int, per: timedelta, *, by: Callable[[], str] = client_address,
                 methods: Collection[str] | None = None, json: bool | None = None) -> Callable[[View], View]:
    """Refuse a view with 429 beyond ``limit`` hits per ``per`` for each ``by()`` (see the module's docstring)."""
    def decorate(view: View) -> View:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> ResponseReturnValue:
            if methods is None or request.method in methods:
                decision = hit(f"{name}:{by()}", limit, per, utcnow())
                if not decision.allowed:
                    return too_many_requests(decision.retry_after, json)
            return view(*args, **kwargs)
        return cast(View, limited)
    return decorate


def too_many_requests(retry_after: int, json: bool | None = None) -> ResponseReturnValue:
    """The 429 answer: JSON for JSON endpoints and clients, else the desk's error page; both say how long."""
    message = _("Too many requests from your connection in a short time: nothing was done. Wait %(wait)s and "
                "try again.", wait=format_timedelta(timedelta(seconds=retry_after), threshold=1.0))
    headers = {"Retry-After": str(retry_after)}
    if json is None:
        json = request.accept_mimetypes.best_match(("text/html", "application/json")) == "application/json"
    if json:
        return jsonify(error=message, retry_after=retry_after), 429, headers
    return render_template("errors.html", status=429, title=_("Too many requests"), message=message), 429, headers
