"""Who hears of what happens on a ticket, and each person's list. The tickets domain announces its changes
with blinker signals, heard at the end of this module: each notification is written in the transaction of the
change that caused it (a rolled-back change leaves none), and the e-mail of those who chose it is queued in
the same transaction (the outbox sends it after commit). Nobody is notified of their own action."""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from helpdesk.auth.models import Role, User
from helpdesk.extensions import db
from helpdesk.notifications import mail
from helpdesk.notifications.models import (SUMMARY_MAX_LENGTH, Notification, NotificationKind,
                                           NotificationPreference)
from helpdesk.tickets.clocks import sla_announced
from helpdesk.tickets.watchers import watchers_of
from helpdesk.tickets.models import Message, Ticket
from helpdesk.tickets.outages import outage_opened
from helpdesk.tickets.satisfaction import SatisfactionRating, rated_not_good
from helpdesk.tickets.services import message_added, ticket_assigned
from helpdesk.tickets.states import MessageKind

#: ``@handle`` in a note: a handle (the part of a staff address before the @) or a whole staff address; not
#: inside a word or an address (``ana@vic.cat`` mentions nobody). A sentence's final dot is not part of it.
MENTION = re.compile(r"(?<![\w@.+-])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")
PEOPLE_LIMIT = 8  # names offered while typing a mention


# --- who follows a ticket ---------------------------------------------------------------------------------

def recipients_for(ticket: Ticket) -> list[User]:
    """Who hears of what happens on ``ticket`` (the council's answers, its SLA clocks): its active assignee.

    The hook for watchers (issue #18, tags and watchers): add the ticket's active watchers to ``people``
    here, e.g. ``people += watchers_of(ticket)`` (a higher domain may import the tickets domain, not the
    other way round); every kind that goes to "my tickets" then reaches them with no other change. The
    actor is left out later, by ``notify``."""
    people: list[User] = []
    if ticket.assignee is not None and ticket.assignee.is_active:
        people.append(ticket.assignee)
    people += [watcher for watcher in watchers_of(ticket) if watcher not in people]
    return people


# --- writing them -----------------------------------------------------------------------------------------

def notify(people: Iterable[User], kind: NotificationKind, *, ticket: Ticket | None, actor: User | None,
           summary: str, url: str, now: datetime, detail: str = "",
           already_mailed: Iterable[int] = ()) -> list[Notification]:
    """Write one notification of ``kind`` to each active person other than ``actor`` and queue the e-mail of
    those who chose e-mail for it, except ``already_mailed`` (whom the tickets domain e-mails itself)."""
    chosen = {person.id: person for person in people
              if person.is_active and (actor is None or person.id != actor.id)}
    if not chosen:
        return []
    summary = " ".join(summary.split())
    if len(summary) > SUMMARY_MAX_LENGTH:
        summary = summary[:SUMMARY_MAX_LENGTH - 1] + "…"
    written = [Notification(user_id=person_id, kind=kind, ticket_id=ticket.id if ticket else None,
                            actor_id=actor.id if actor else None, summary=summary, detail=detail, url=url,
                            created_at=now) for person_id in chosen]
    db.session.add_all(written)
    wanting = set(db.session.scalars(select(NotificationPreference.user_id).where(
        NotificationPreference.user_id.in_(list(chosen)), NotificationPreference.kind == kind,
        NotificationPreference.by_email))) - set(already_mailed)
    if wanting:
        db.session.flush()  # the e-mail's link names the notification
        for notification in written:
            if notification.user_id in wanting:
                notification.actor = actor
                mail.send_notification(notification, chosen[notification.user_id])
    return written


def ticket_url(ticket: Ticket, message: Message | None = None) -> str:
    """The desk's path to a ticket, or to one message on it."""
    return f"/tickets/{ticket.id}" + (f"#message-{message.id}" if message is not None else "")


# --- mentions ---------------------------------------------------------------------------------------------

def handles() -> dict[str, User]:
    """Each active staff member by handle: the part of their address before the @, in lower case, or their
    whole address when another active staff member's address starts the same (so a handle is never ambiguous).
    Staff are a few dozen people: read at once, which also tells which handles are shared."""
    staff = db.session.scalars(select(User).where(User.is_active, User.role != Role.COUNCIL_USER)
                               .order_by(User.name, User.id)).all()
    local_parts: dict[str, int] = {}
    for person in staff:
        local = person.email.lower().partition("@")[0]
        local_parts[local] = local_parts.get(local, 0) + 1
    found: dict[str, User] = {}
    for person in staff:
        local = person.email.lower().partition("@")[0]
        found[local if local_parts[local] == 1 else person.email.lower()] = person
    return found


def handle_of(user: User, known: dict[str, User] | None = None) -> str:
    """The handle that mentions ``user`` in a note."""
    known = handles() if known is None else known
    return next((handle for handle, person in known.items() if person.id == user.id), user.email.lower())


def mentioned(text: str) -> list[User]:
    """The active staff a note mentions, each once, in the order they appear."""
    words = [word.rstrip(".").lower() for word in MENTION.findall(text or "")]
    if not words:
        return []
    known = handles()
    by_address = {person.email.lower(): person for person in known.values()}
    people: dict[int, User] = {}
    for word in words:
        person = known.get(word) or by_address.get(word)
        if person is not None:
            people.setdefault(person.id, person)
    return list(people.values())


def people(query: str) -> list[dict[str, str]]:
    """Active staff whose name, handle or address contains ``query``, for completing a mention."""
    query = " ".join(query.split()).lower()
    known = handles()
    matches = [{"handle": handle, "name": person.name} for handle, person in known.items()
               if not query or query in person.name.lower() or query in handle or query in person.email.lower()]
    matches.sort(key=lambda item: (not item["handle"].startswith(query), item["name"].lower()))
    return matches[:PEOPLE_LIMIT]


# --- reading them -----------------------------------------------------------------------------------------

def own(user: User) -> Any:
    """The condition for ``user``'s own notifications, to put in every query that reads them."""
    return Notification.user_id == user.id


def unread_count(user: User) -> int:
    """How many of ``user``'s notifications are unread (one count on the index)."""
    return db.session.scalar(select(func.count(Notification.id)).where(own(user), Notification.read_at.is_(None))) or 0


def listed(user: User) -> Any:
    """``user``'s notifications, newest first, for the list page."""
    return select(Notification).where(own(user)).order_by(Notification.created_at.desc(), Notification.id.desc())


def latest_unread(user: User, limit: int = 5) -> list[Notification]:
    """The newest unread notifications of ``user``."""
    return list(db.session.scalars(select(Notification).where(own(user), Notification.read_at.is_(None))
                                   .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)))


def find(user: User, notification_id: int) -> Notification | None:
    """``user``'s notification with that id (another's is as good as missing)."""
    return db.session.scalar(select(Notification).where(own(user), Notification.id == notification_id))


def mark_read(user: User, notification: Notification, now: datetime) -> None:
    """Mark one of ``user``'s notifications read (again is harmless: the first time is kept)."""
    if notification.user_id != user.id:
        raise ValueError("a notification is marked read by its own person only")
    if notification.read_at is None:
        notification.read_at = now


def mark_all_read(user: User, now: datetime) -> int:
    """Mark every unread notification of ``user`` read; how many were."""
    result = db.session.execute(update(Notification).where(own(user), Notification.read_at.is_(None))
                                .values(read_at=now).execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)  # an UPDATE's result has its row count


def as_json(notification: Notification) -> dict[str, Any]:
    """A notification as the unread endpoint gives it."""
    return {"id": notification.id, "kind": notification.kind.value, "title": notification.title(),
            "summary": notification.summary, "ticket_id": notification.ticket_id,
            "url": f"/notifications/{notification.id}", "target": notification.url,
            "created_at": notification.created_at.isoformat(), "read": notification.is_read}


# --- preferences --------------------------------------------------------------------------------------------

def emailed_kinds(user: User) -> set[NotificationKind]:
    """The kinds ``user`` also wants by e-mail."""
    return set(db.session.scalars(select(NotificationPreference.kind).where(
        NotificationPreference.user_id == user.id, NotificationPreference.by_email)))


def save_preferences(user: User, by_email: set[NotificationKind]) -> None:
    """Keep ``user``'s choice of the kinds that also come by e-mail (every kind has a row afterwards)."""
    db.session.execute(delete(NotificationPreference).where(NotificationPreference.user_id == user.id))
    db.session.add_all([NotificationPreference(user_id=user.id, kind=kind, by_email=kind in by_email)
                        for kind in NotificationKind])
    db.session.flush()


# --- what the tickets domain announces ------------------------------------------------------------------

@ticket_assigned.connect
def _assigned(ticket: Ticket, *, actor: User | None, now: datetime, **_: Any) -> None:
    if ticket.assignee is not None:
        notify([ticket.assignee], NotificationKind.ASSIGNED, ticket=ticket, actor=actor, summary=ticket.subject,
               url=ticket_url(ticket), now=now)


@message_added.connect
def _message_added(ticket: Ticket, *, message: Message, actor: User | None, now: datetime, **_: Any) -> None:
    if message.kind is MessageKind.INBOUND:
        notify(recipients_for(ticket), NotificationKind.COUNCIL_REPLIED, ticket=ticket, actor=actor,
               summary=message.body_text or ticket.subject, url=ticket_url(ticket, message), now=now)
    elif message.kind is MessageKind.NOTE and actor is not None:
        notify(mentioned(message.body_text), NotificationKind.MENTIONED, ticket=ticket, actor=actor,
               summary=message.body_text, url=ticket_url(ticket, message), now=now)


@sla_announced.connect
def _sla(ticket: Ticket, *, clock: str, event: str, now: datetime, **_: Any) -> None:
    kind = NotificationKind.SLA_BREACHED if event == "breached" else NotificationKind.SLA_AT_RISK
    # The tickets domain already e-mails the active assignee its own SLA warning: not a second e-mail.
    mailed = [ticket.assignee.id] if ticket.assignee is not None and ticket.assignee.is_active else []
    notify(recipients_for(ticket), kind, ticket=ticket, actor=None, summary=ticket.subject, url=ticket_url(ticket),
           now=now, detail=clock, already_mailed=mailed)


@outage_opened.connect
def _outage(ticket: Ticket, *, now: datetime, **_: Any) -> None:
    """Technicians repair outages and agents take the councils' calls about them: both are told. The
    technicians already get the tickets domain's outage e-mail, so the e-mail choice adds one for agents only."""
    staff = db.session.scalars(select(User).where(User.is_active, User.role.in_([Role.TECHNICIAN, Role.AGENT]))
                               .order_by(User.id)).all()
    notify(staff, NotificationKind.OUTAGE, ticket=ticket, actor=None, summary=ticket.subject,
           url=ticket_url(ticket), now=now,
           already_mailed=[person.id for person in staff if person.role is Role.TECHNICIAN])


@rated_not_good.connect
def _rated_not_good(ticket: Ticket, *, rating: SatisfactionRating, now: datetime, **_: Any) -> None:
    """The ticket's assignee (and its watchers) hear that the requester was not happy, with their comment; an
    unassigned ticket's watchers only, as for the council's answers (nobody when it has none)."""
    notify(recipients_for(ticket), NotificationKind.RATED_NOT_GOOD, ticket=ticket, actor=None,
           summary=rating.comment or ticket.subject, url=ticket_url(ticket) + "#rating", now=now)
