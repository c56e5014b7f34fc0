"""What the ticket page shows beside the ticket, for staff: its tags and watchers, the requester's and the
council's other tickets, the council's platform and grants, and what higher domains add (accompaniment).

Tickets sit below accompaniment in the import direction, so accompaniment cannot be asked by name here:
it registers a section with :func:`context_section` (as the instance page's sections are registered in
``helpdesk.instances.views``), and ``gather`` calls each one. Every part is one query bounded by a
``LIMIT``, whatever the number of tickets, grants or sessions the council has.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import case, or_, select

from helpdesk.auth.models import User
from helpdesk.catalog.models import Grant
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.tickets import tags, watchers
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import staff_choices
from helpdesk.tickets.states import ACTIVE_STATUSES
from helpdesk.tickets.tag_forms import TagForm, WatcherForm

SHOWN = 5  # of each kind; "see all" opens the inbox filtered



@dataclass(frozen=True)
class ContextItem:
    """One line of a section: what it is, where one click takes, and a few words beside it."""

    label: str
    url: str
    detail: str = ""
    when: datetime | None = None


@dataclass(frozen=True)
class ContextList:
    """A section a higher domain adds beside the ticket, as plain lines (the template is the ticket page's)."""

    title: str
    items: list[ContextItem]
    all_url: str = ""  # "see all", when there may be more than shown
    empty: str = ""  # what to say when there is nothing


#: Called with the ticket, the viewer and now; returns a list to show, or None to add nothing.
ContextSection = Callable[[Ticket, User, datetime], "ContextList | None"]
CONTEXT_SECTIONS: list[ContextSection] = []


def context_section(function: ContextSection) -> ContextSection:
    """Add a section to the context beside every ticket (a domain above tickets registers its own)."""
    CONTEXT_SECTIONS.append(function)
    return function


@dataclass
class TicketContext:
    requester_tickets: list[Ticket] = field(default_factory=list)
    council_tickets: list[Ticket] = field(default_factory=list)
    instances: list[PlatformInstance] = field(default_factory=list)
    grants: list[Grant] = field(default_factory=list)
    sections: list[ContextList] = field(default_factory=list)


def _others(ticket: Ticket, user: User, condition) -> list[Ticket]:
    """Open ones first (latest update first), then the latest closed ones; never the ticket itself."""
    still_open = case((Ticket.status.in_(ACTIVE_STATUSES), 0), else_=1)
    return list(db.session.scalars(
        select(Ticket).where(condition, Ticket.id != ticket.id, Ticket.merged_into_id.is_(None),
                             Ticket.visible_to(user))
        .order_by(still_open, Ticket.updated_at.desc(), Ticket.id.desc()).limit(SHOWN)))


def requester_condition(ticket: Ticket):
    """Which tickets are the same requester's: the same address, else the same known contact."""
    if ticket.requester_email:
        return Ticket.requester_email == ticket.requester_email
    if ticket.requester_contact_id:
        return Ticket.requester_contact_id == ticket.requester_contact_id
    return None


def gather(ticket: Ticket, user: User, now: datetime | None = None) -> TicketContext:
    """The context beside ``ticket`` as ``user`` may see it (nothing for a council user: it is the team's)."""
    found = TicketContext()
    if not user.is_staff:
        return found
    now = now or utcnow()
    condition = requester_condition(ticket)
    if condition is not None:
        found.requester_tickets = _others(ticket, user, condition)
    if ticket.council_id is not None:
        found.council_tickets = _others(ticket, user, Ticket.council_id == ticket.council_id)
        found.instances = list(db.session.scalars(
            select(PlatformInstance).where(or_(PlatformInstance.council_id == ticket.council_id,
                                               PlatformInstance.id == ticket.instance_id))
            .order_by(PlatformInstance.base_url).limit(SHOWN)))
        found.grants = list(db.session.scalars(
            select(Grant).where(Grant.council_id == ticket.council_id, Grant.visible_to(user))
            .order_by(Grant.ends_on.desc(), Grant.id.desc()).limit(SHOWN)))
    elif ticket.instance is not None:
        found.instances = [ticket.instance]
    for section in CONTEXT_SECTIONS:
        added = section(ticket, user, now)
        if added is not None:
            found.sections.append(added)
    return found


def sidebar(ticket: Ticket, user: User, forms: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What the ticket page's side column needs from this module, for the template (staff only)."""
    if not user.is_staff:
        return {}
    forms = forms or {}
    watching = watchers.watchers_of(ticket)
    watcher_form = forms.get("watcher") or WatcherForm(prefix="watcher")
    watcher_form.user_id.choices = [("", "—")] + [
        (str(person.id), person.name) for person in staff_choices() if person.id not in {item.id for item in watching}]
    return {"ticket_tags": tags.tags_of(ticket), "tag_form": forms.get("tag") or TagForm(prefix="tag"),
            "watchers": watching, "is_watching": any(item.id == user.id for item in watching),
            "watcher_form": watcher_form, "ticket_context": gather(ticket, user)}
