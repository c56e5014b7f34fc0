"""The agents' inbox: saved views, filters, search and sorting, turned into one query."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, case, false, select, type_coerce

from helpdesk.auth.models import User
from helpdesk.core import search
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket, TicketRead
from helpdesk.tickets.states import ACTIVE_STATUSES, Category, Channel, Priority, TicketStatus

VIEWS = {
    "unassigned": _l("Unassigned"),
    "mine": _l("Mine"),
    "waiting": _l("Waiting on council"),
    "open": _l("All open"),
    "recent": _l("Recently updated"),
}
SORTS = {
    "-updated": _l("Last update, newest first"),
    "updated": _l("Last update, oldest first"),
    "-created": _l("Newest first"),
    "created": _l("Oldest first"),
    "-priority": _l("Highest priority first"),
    "relevance": _l("Best match (with a search)"),
}
# Priority is stored as text; this puts "urgent" first when sorting by it.
PRIORITY_ORDER = case({Priority.URGENT.value: 4, Priority.HIGH.value: 3, Priority.NORMAL.value: 2,
                       Priority.LOW.value: 1}, value=type_coerce(Ticket.priority, String))


@dataclass(frozen=True)
class InboxQuery:
    view: str = "open"
    statuses: tuple[TicketStatus, ...] = ()
    priorities: tuple[Priority, ...] = ()
    categories: tuple[Category, ...] = ()
    channels: tuple[Channel, ...] = ()
    council_id: int | None = None
    instance_id: int | None = None
    assignee: str = ""  # "", "me", "none" or a user id
    text: str = ""
    sort: str = "-updated"

    @classmethod
    def from_args(cls, args: Mapping) -> InboxQuery:
        """Read the query from a URL's arguments; unknown values are ignored, never an error."""
        def many(name, enum_class):
            values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
            known = {item.value: item for item in enum_class}
            return tuple(known[value] for value in values if value in known)

        def number(name):
            value = args.get(name, "")
            return int(value) if str(value).isdigit() else None

        view = args.get("view", "open")
        sort = args.get("sort", "")
        text = (args.get("q") or "").strip()[:200]
        assignee = args.get("assignee", "")
        return cls(view=view if view in VIEWS or view == "all" else "open",
                   statuses=many("status", TicketStatus), priorities=many("priority", Priority),
                   categories=many("category", Category), channels=many("channel", Channel),
                   council_id=number("council"), instance_id=number("instance"),
                   assignee=assignee if assignee in ("me", "none") or assignee.isdigit() else "",
                   text=text, sort=sort if sort in SORTS else ("relevance" if text else "-updated"))


def statement(query: InboxQuery, user: User) -> Select:
    """The tickets of ``query`` that ``user`` may see, sorted."""
    statement = select(Ticket).where(Ticket.visible_to(user))
    if query.view == "unassigned":
        statement = statement.where(Ticket.assignee_id.is_(None), Ticket.status.in_(ACTIVE_STATUSES))
    elif query.view == "mine":
        statement = statement.where(Ticket.assignee_id == user.id, Ticket.status.in_(ACTIVE_STATUSES))
    elif query.view == "waiting":
        statement = statement.where(Ticket.status == TicketStatus.PENDING)
    elif query.view == "open":
        statement = statement.where(Ticket.status.in_(ACTIVE_STATUSES))
    if query.statuses:
        statement = statement.where(Ticket.status.in_(query.statuses))
    if query.priorities:
        statement = statement.where(Ticket.priority.in_(query.priorities))
    if query.categories:
        statement = statement.where(Ticket.category.in_(query.categories))
    if query.channels:
        statement = statement.where(Ticket.channel.in_(query.channels))
    if query.council_id:
        statement = statement.where(Ticket.council_id == query.council_id)
    if query.instance_id:
        statement = statement.where(Ticket.instance_id == query.instance_id)
    if query.assignee == "me":
        statement = statement.where(Ticket.assignee_id == user.id)
    elif query.assignee == "none":
        statement = statement.where(Ticket.assignee_id.is_(None))
    elif query.assignee:
        statement = statement.where(Ticket.assignee_id == int(query.assignee))
    matches = search.matches(db.session, "ticket", query.text) if query.text else None
    if query.text and query.text.lstrip("#").isdigit():
        matches = None  # "#123" or "123" finds that ticket
        statement = statement.where(Ticket.id == int(query.text.lstrip("#")))
    elif matches is not None:
        statement = statement.join(matches, matches.c.object_id == Ticket.id)
    elif query.text:
        statement = statement.where(false())
    order = {
        "-updated": [Ticket.updated_at.desc(), Ticket.id.desc()],
        "updated": [Ticket.updated_at.asc(), Ticket.id.asc()],
        "-created": [Ticket.id.desc()],
        "created": [Ticket.id.asc()],
        "-priority": [PRIORITY_ORDER.desc(), Ticket.updated_at.desc()],
        "relevance": [matches.c.rank.asc(), Ticket.updated_at.desc()] if matches is not None
        else [Ticket.updated_at.desc(), Ticket.id.desc()],
    }[query.sort]
    return statement.order_by(*order)


def unread_ids(user: User, tickets: list[Ticket]) -> set[int]:
    """Which of ``tickets`` have activity since ``user`` last opened them."""
    if not tickets:
        return set()
    reads = dict(db.session.execute(select(TicketRead.ticket_id, TicketRead.read_at).where(
        TicketRead.user_id == user.id, TicketRead.ticket_id.in_([ticket.id for ticket in tickets]))).all())
    return {ticket.id for ticket in tickets if ticket.id not in reads or reads[ticket.id] < ticket.activity_at}


def with_view(query: InboxQuery, view: str) -> InboxQuery:
    return replace(query, view=view)
