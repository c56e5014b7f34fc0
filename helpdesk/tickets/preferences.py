"""Each agent's inbox as they left it: the columns they chose to see and the last sort they used.

A person's way of looking at the list, not a record of the desk: it is neither audited nor shown in a history.
The columns are kept as a JSON list of their keys; keys that are not (or no longer) columns are dropped when
read and when written, so a renamed or removed column never breaks anyone's inbox.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.datastructures import MultiDict

from helpdesk.auth.models import User
from helpdesk.core.errors import NotAllowed
from helpdesk.extensions import Model, db
from helpdesk.tickets.inbox import SORTS

#: The inbox's optional columns, in the table's order (the reference and the subject are always shown).
COLUMNS = {
    "council": _l("Council"),
    "requester": _l("Requester"),
    "category": _l("Category"),
    "channel": _l("Channel"),
    "status": _l("Status"),
    "priority": _l("Priority"),
    "assignee": _l("Assignee"),
    "deadline": _l("SLA deadline"),
    "updated": _l("Last update"),
}
#: What a new agent sees: everything but the channel, which the category and requester usually make plain.
DEFAULT_COLUMNS = tuple(key for key in COLUMNS if key != "channel")
#: A sort that only means something with a search is not carried over to the next visit.
UNREMEMBERED_SORTS = frozenset({"relevance"})


class InboxPreference(Model):
    """One person's inbox columns and last sort."""

    __tablename__ = "inbox_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    columns: Mapped[str | None] = mapped_column(Text)  # a JSON list of COLUMNS keys; None: the defaults
    sort: Mapped[str | None] = mapped_column(String(20))  # a key of inbox.SORTS; None: the inbox's default


def known_columns(names: Iterable[Any]) -> tuple[str, ...]:
    """The names that are columns, once each, in the table's order; anything else is ignored."""
    wanted = {name for name in names if isinstance(name, str)}
    return tuple(key for key in COLUMNS if key in wanted)


def _preference(user: User) -> InboxPreference | None:
    return db.session.get(InboxPreference, user.id)


def _own_preference(actor: User) -> InboxPreference:
    if not actor.is_staff:
        raise NotAllowed(_l("Only the support team has an inbox to arrange."))
    preference = _preference(actor)
    if preference is None:
        preference = InboxPreference(user_id=actor.id)
        db.session.add(preference)
    return preference


def inbox_columns(user: User) -> tuple[str, ...]:
    """The optional columns ``user`` sees in the inbox, in the table's order (the defaults until they choose)."""
    preference = _preference(user)
    if preference is None or preference.columns is None:
        return DEFAULT_COLUMNS
    try:
        stored = json.loads(preference.columns)
    except ValueError:
        return DEFAULT_COLUMNS  # unreadable (written by hand?): the defaults rather than an error page
    return known_columns(stored) if isinstance(stored, list) else DEFAULT_COLUMNS


def choose_inbox_columns(actor: User, names: Iterable[Any]) -> tuple[str, ...]:
    """Keep the columns ``actor`` chose for their inbox (names that are not columns are ignored); the kept ones."""
    columns = known_columns(names)
    _own_preference(actor).columns = json.dumps(list(columns))
    db.session.flush()
    return columns


def remembered_sort(user: User) -> str | None:
    """The last sort ``user`` used in the inbox, if it is still one the inbox offers."""
    preference = _preference(user)
    return preference.sort if preference is not None and preference.sort in SORTS else None


def remember_sort(actor: User, sort: str) -> bool:
    """Keep ``sort`` as ``actor``'s inbox order if it is a lasting one and new; True when something changed."""
    if sort not in SORTS or sort in UNREMEMBERED_SORTS or not actor.is_staff or remembered_sort(actor) == sort:
        return False
    _own_preference(actor).sort = sort
    db.session.flush()
    return True


def with_remembered_sort(args: Mapping[str, Any], user: User) -> Mapping[str, Any]:
    """The inbox's query arguments, with ``user``'s last sort when they name none (and search for nothing:
    a search without a sort is ordered by best match)."""
    if args.get("sort") or (args.get("q") or "").strip():
        return args
    sort = remembered_sort(user)
    if sort is None:
        return args
    filled: MultiDict[str, Any] = MultiDict(args)  # every value of a repeated argument (tag=…&tag=…) kept
    filled["sort"] = sort
    return filled
