"""The agents' inbox: saved views, filters, search and sorting, turned into one query."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Mapping

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, case, false, func, or_, select, type_coerce

from helpdesk.auth.models import User
from helpdesk.core import search
from helpdesk.core.models import utcnow
from helpdesk.core.validation import whole_number
from helpdesk.extensions import db
from helpdesk.tickets import tags as ticket_tags
from helpdesk.tickets.models import Ticket, TicketRead
from helpdesk.tickets.states import ACTIVE_STATUSES, Category, Channel, Priority, TicketStatus

VIEWS = {
    "at_risk": _l("At risk or breached"),
    "unassigned": _l("Unassigned"),
    "mine": _l("Mine"),
    "mine_and_outages": _l("Mine and outages"),  # a technician's home: what is theirs, and every outage
    "waiting": _l("Waiting on council"),
    "open": _l("All open"),
    "recent": _l("Recently updated"),
    "all": _l("All"),
}
SORTS = {
    "-updated": _l("Last update, newest first"),
    "due": _l("Nearest deadline first"),
    "updated": _l("Last update, oldest first"),
    "-created": _l("Newest first"),
    "created": _l("Oldest first"),
    "-priority": _l("Highest priority first"),
    "relevance": _l("Best match (with a search)"),
}
MAX_TAGS = 5  # tags one filter combines
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
    tags: tuple[str, ...] = ()  # normalised names; a ticket must carry each of them
    requester: str = ""  # an e-mail address (the ticket page's "see all" of the requester's tickets)

    @classmethod
    def from_args(cls, args: Mapping) -> InboxQuery:
        """Read the query from a URL's arguments; unknown values are ignored, never an error."""
        def many(name, enum_class):
            values = args.getlist(name) if hasattr(args, "getlist") else [args.get(name)]
            known = {item.value: item for item in enum_class}
            return tuple(known[value] for value in values if value in known)

        def number(name):
            return whole_number(args.get(name))

        view = args.get("view", "open")
        sort = args.get("sort", "")
        text = (args.get("q") or "").strip()[:200]
        assignee = args.get("assignee", "")
        tags = args.getlist("tag") if hasattr(args, "getlist") else [args.get("tag") or ""]
        requester = (args.get("requester") or "").strip().lower()[:254]
        return cls(view=view if view in VIEWS else "open",
                   statuses=many("status", TicketStatus), priorities=many("priority", Priority),
                   categories=many("category", Category), channels=many("channel", Channel),
                   council_id=number("council"), instance_id=number("instance"),
                   assignee=assignee if assignee in ("me", "none") or whole_number(assignee) else "",
                   text=text, sort=sort if sort in SORTS else ("relevance" if text else "-updated"),
                   tags=tuple(dict.fromkeys(name for name in map(ticket_tags.normalise, tags[:MAX_TAGS]) if name
                                            and len(name) <= ticket_tags.TAG_MAX_LENGTH)),
                   requester=requester if "@" in requester else "")


def statement(query: InboxQuery, user: User, now: datetime | None = None) -> Select:
    """The tickets of ``query`` that ``user`` may see, sorted."""
    now = now or utcnow()
    statement = select(Ticket).where(Ticket.visible_to(user))
    # A search or a status filter looks beyond the view's statuses: "#123" finds a closed ticket too.
    by_status = not (query.text or query.statuses)
    if query.view == "unassigned":
        statement = statement.where(Ticket.assignee_id.is_(None))
    elif query.view == "mine":
        statement = statement.where(Ticket.assignee_id == user.id)
    elif query.view == "mine_and_outages":
        statement = statement.where(or_(Ticket.assignee_id == user.id, Ticket.category == Category.OUTAGE))
    if query.view == "at_risk":
        statement = statement.where(Ticket.next_warn_at <= now)
    if by_status and query.view in ("unassigned", "mine", "mine_and_outages", "open", "at_risk"):
        statement = statement.where(Ticket.status.in_(ACTIVE_STATUSES))
    elif by_status and query.view == "waiting":
        statement = statement.where(Ticket.status == TicketStatus.PENDING)
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
    for name in query.tags:  # each tag a join through its unique name and ix_ticket_tags_tag_id_ticket_id
        links, on = ticket_tags.with_tag(name)
        statement = statement.join(links, on)
    if query.requester:
        statement = statement.where(Ticket.requester_email == query.requester)
    if query.assignee == "me":
        statement = statement.where(Ticket.assignee_id == user.id)
    elif query.assignee == "none":
        statement = statement.where(Ticket.assignee_id.is_(None))
    elif query.assignee:
        statement = statement.where(Ticket.assignee_id == int(query.assignee))
    matches = search.matches(db.session, "ticket", query.text) if query.text else None
    number = whole_number(query.text, "#")
    if query.text.startswith("#") and number is not None:
        matches = None  # "#123" is that ticket
        statement = statement.where(Ticket.id == number)
    elif number is not None and matches is not None:
        # Bare digits: that ticket, or tickets mentioning them (a phone number, an INE code).
        statement = statement.where(or_(Ticket.id == number, Ticket.id.in_(select(matches.c.object_id))))
        matches = None
    elif matches is not None:
        statement = statement.join(matches, matches.c.object_id == Ticket.id)
    elif query.text:
        statement = statement.where(false())
    order = {
        "-updated": [Ticket.updated_at.desc(), Ticket.id.desc()],
        "updated": [Ticket.updated_at.asc(), Ticket.id.asc()],
        "-created": [Ticket.id.desc()],
        "created": [Ticket.id.asc()],
        "-priority": [PRIORITY_ORDER.desc(), Ticket.updated_at.desc(), Ticket.id.desc()],
        "due": [Ticket.next_due_at.is_(None), Ticket.next_due_at.asc(), Ticket.id.asc()],
        "relevance": [matches.c.rank.asc(), Ticket.updated_at.desc(), Ticket.id.desc()] if matches is not None
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


def view_counts(user: User, now: datetime | None = None) -> dict[str, int]:
    """How many tickets each saved view holds for ``user`` (the tabs' counts), in one round trip."""
    counts = db.session.execute(select(*[
        select(func.count()).select_from(statement(InboxQuery(view=view), user, now).order_by(None).subquery())
        .scalar_subquery().label(view) for view in VIEWS])).one()
    return {view: int(count or 0) for view, count in zip(VIEWS, counts)}
