"""Satisfaction: the requester's rating of a resolved ticket (good or not good, and a comment).

A rating belongs to one resolution of a ticket (its ``resolved_at``): reopening and resolving again asks
anew, and a link from the earlier resolution's mail no longer rates. It can be changed while the ticket
stays resolved; once closed it stands. Rating never changes the ticket's status. "Not good" is announced
(``rated_not_good``) for notifications to tell the ticket's agent.

The mail's links carry a signed token (itsdangerous, keyed by SECRET_KEY, with a salt of its own so that no
other signed value can pass for one) naming the ticket and the resolution: they work without signing in,
and a forged or altered one is refused.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, cast
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import ForeignKey, Index, Text, UniqueConstraint, func, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import User
from helpdesk.core import audit, emails
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import UTCDateTime
from helpdesk.core.urls import base_url
from helpdesk.councils import recipients
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.tickets import mailing
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import ticket_status_changed
from helpdesk.tickets.states import LABELS, Category, Channel, TicketStatus

COMMENT_MAX_LENGTH = 2000
#: A rating is asked for, and given, while the ticket is resolved or (not yet rated) closed.
RATED_STATUSES = frozenset({TicketStatus.RESOLVED, TicketStatus.CLOSED})
CHOICES = ("good", "not_good")  # as the mail's links and the forms name them
TOKEN_SALT = "helpdesk.tickets.satisfaction"  # a rating token is nothing else's signed value
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

_signals = Namespace()
#: Sent when a requester rates a resolution "not good" (sender: the ticket; rating, now): notifications listen.
rated_not_good = _signals.signal("rated-not-good")


class SatisfactionRating(db.Model):
    """The requester's rating of one resolution of a ticket."""

    __tablename__ = "satisfaction_ratings"
    __table_args__ = (UniqueConstraint("ticket_id", "resolved_at", name="uq_satisfaction_ratings_ticket_id_resolved_at"),
                      # The report and the renewal dossier count ratings given in a period.
                      Index("ix_satisfaction_ratings_rated_at", "rated_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime)  # which resolution of the ticket it rates
    is_good: Mapped[bool]
    comment: Mapped[str] = mapped_column(Text, default="")  # plain text, shown escaped
    # Whose work it rates: the ticket's assignee when it was rated (the report's "agent").
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The council user who rated in the portal; none: from the mail's link.
    rated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)  # first given: what periods count
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ticket: Mapped[Ticket] = relationship()
    agent: Mapped[User | None] = relationship(foreign_keys=[agent_id])
    rated_by: Mapped[User | None] = relationship(foreign_keys=[rated_by_id])

    def __repr__(self) -> str:
        return f"<SatisfactionRating #{self.ticket_id} {'good' if self.is_good else 'not good'}>"


# --- counting ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """How many ratings were good and not good."""

    good: int
    not_good: int

    @property
    def total(self) -> int:
        return self.good + self.not_good

    @property
    def share_good(self) -> float | None:
        """The good ones' share (0 to 1); None when nobody rated."""
        return self.good / self.total if self.total else None


def summary(since: datetime, until: datetime, council_id: int | None = None) -> Summary:
    """The ratings given in [since, until), of one council's tickets or of all."""
    statement = (select(SatisfactionRating.is_good, func.count(SatisfactionRating.id))
                 .where(SatisfactionRating.rated_at >= since, SatisfactionRating.rated_at < until)
                 .group_by(SatisfactionRating.is_good))
    if council_id is not None:
        statement = statement.join(Ticket, Ticket.id == SatisfactionRating.ticket_id).where(
            Ticket.council_id == council_id)
    counts = {bool(is_good): count for is_good, count in db.session.execute(statement)}
    return Summary(good=counts.get(True, 0), not_good=counts.get(False, 0))


@dataclass(frozen=True)
class GroupRow:
    """The SLA report's satisfaction of one group (a month, a category, a council, an agent, a channel)."""

    key: str
    label: str
    summary: Summary


def by_group(start: date, end: date, group: str, zone: str) -> list[GroupRow]:
    """The ratings given from ``start`` to ``end`` (local dates, inclusive), grouped as the SLA report groups
    (``group``: month, category, council, agent or channel; the keys are the report's)."""
    local = ZoneInfo(zone)
    first = datetime.combine(start, datetime.min.time(), local)
    last = datetime.combine(end, datetime.max.time(), local)  # as compliance() does: no day after 9999-12-31
    statement = (select(SatisfactionRating.rated_at, SatisfactionRating.is_good, Ticket.category, Ticket.channel,
                        Council.name, User.name)
                 .join(Ticket, Ticket.id == SatisfactionRating.ticket_id)
                 .outerjoin(Council, Council.id == Ticket.council_id)
                 .outerjoin(User, User.id == SatisfactionRating.agent_id)
                 .where(SatisfactionRating.rated_at >= first, SatisfactionRating.rated_at <= last))
    counts: dict[str, list[Any]] = {}
    for rated_at, is_good, category, channel, council, agent in db.session.execute(statement):
        if group == "month":
            key = label = rated_at.astimezone(local).strftime("%Y-%m")
        elif group == "category":
            key, label = category.value, str(LABELS[Category][category])
        elif group == "channel":
            key, label = channel.value, str(LABELS[Channel][channel])
        elif group == "agent":
            key, label = agent or "", agent or "—"
        else:
            key, label = council or "", council or "—"
        entry = counts.setdefault(key, [label, 0, 0])
        entry[1 if is_good else 2] += 1
    return [GroupRow(key, label, Summary(good, not_good)) for key, (label, good, not_good) in sorted(counts.items())]


# --- which resolution, and the mail's links ---------------------------------------------------------------

class RatingRefused(DomainError):
    """A link or a form that cannot rate: forged, another ticket's, an earlier resolution's, too late."""


FORGED = _l("This rating link is not valid: it may have been cut short or altered. Open the whole link from the "
            "e-mail, or rate the ticket on its page in the portal.")


def _stamp(moment: datetime) -> int:
    """A resolution's name in a token: its instant in microseconds (exact, unlike a float)."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def token_for(ticket: Ticket) -> str:
    """The signed token of the ticket's latest resolution, for the links in the mail."""
    if ticket.resolved_at is None:
        raise ValueError("only a resolved ticket has a rating token")
    return str(_serializer().dumps([ticket.id, _stamp(ticket.resolved_at)]))


def rating_links(ticket: Ticket) -> dict[str, str]:
    """The mail's one-click links, by choice; each opens a page that asks to confirm (nothing is recorded
    by opening it, so a mail scanner that follows links rates nothing)."""
    url = f"{base_url()}/tickets/{ticket.id}/rate/{token_for(ticket)}"
    return {choice: f"{url}?choice={choice}" for choice in CHOICES}


def ticket_for_token(number: int, token: str) -> Ticket:
    """The ticket a link's token rates, if the token is genuine, is this ticket's and names its latest
    resolution; refused with what went wrong otherwise."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        raise RatingRefused(FORGED) from None
    if not (isinstance(payload, list) and len(payload) == 2 and all(type(item) is int for item in payload)):
        raise RatingRefused(FORGED)
    ticket_id, stamp = payload
    if ticket_id != number:
        raise RatingRefused(_l("This rating link is for another ticket than %(reference)s: open the link from the "
                               "e-mail about this ticket.", reference=f"#{number}"))
    ticket = db.session.get(Ticket, ticket_id)
    if ticket is None:
        raise RatingRefused(FORGED)
    if ticket.resolved_at is None:
        raise RatingRefused(_l("Ticket %(reference)s was reopened after this e-mail: it can be rated again once it "
                               "is resolved.", reference=ticket.reference))
    if _stamp(ticket.resolved_at) != stamp:
        raise RatingRefused(_l("This link is from an earlier resolution of ticket %(reference)s, which was reopened "
                               "since: rate it with the link of the latest e-mail about it, or on its page in the "
                               "portal.", reference=ticket.reference))
    return ticket


# --- rating ---------------------------------------------------------------------------------------------

def asks_rating(ticket: Ticket) -> bool:
    """Whether the ticket's latest resolution can be rated: resolved (or closed after it), asked by someone
    (not a ticket the desk opened itself, such as an outage's), not merged away."""
    return (ticket.status in RATED_STATUSES and ticket.resolved_at is not None and ticket.merged_into_id is None
            and bool(ticket.requester_email or ticket.requester_phone or ticket.requester_contact_id))


def current_rating(ticket: Ticket) -> SatisfactionRating | None:
    """The rating of the ticket's latest resolution, if given."""
    if ticket.resolved_at is None:
        return None
    return db.session.scalar(select(SatisfactionRating).where(SatisfactionRating.ticket_id == ticket.id,
                                                              SatisfactionRating.resolved_at == ticket.resolved_at))


def can_change(ticket: Ticket, rating: SatisfactionRating | None) -> bool:
    """Whether a rating can be given now: the first one while resolved or closed, a new choice while resolved."""
    return asks_rating(ticket) and (rating is None or ticket.status is TicketStatus.RESOLVED)


def clean_comment(comment: str) -> str:
    comment = (comment or "").replace("\r\n", "\n").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        raise DomainError(_l("The comment must have at most %(count)d characters.", count=COMMENT_MAX_LENGTH),
                          "comment")
    return comment


@dataclass(frozen=True)
class _ByMail:
    """The requester as the audit trail names a rating given by the mail's link (nobody signed in)."""

    email: str
    id: None = None


def rate(ticket: Ticket, is_good: bool, comment: str, now: datetime, *, by: User | None = None) -> SatisfactionRating:
    """Record the rating of the ticket's latest resolution, or change it while the ticket stays resolved;
    ``by``: the council user rating in the portal (None: the mail's link). The ticket itself does not change."""
    if by is not None and (by.is_staff or ticket.council_id is None or by.council_id != ticket.council_id):
        raise NotAllowed(_l("Only the council's own users rate its tickets."))
    if not asks_rating(ticket):
        raise RatingRefused(_l("Ticket %(reference)s is not resolved: it can be rated once it is.",
                               reference=ticket.reference))
    comment = clean_comment(comment)
    rating = current_rating(ticket)
    if not can_change(ticket, rating):
        raise RatingRefused(_l("Ticket %(reference)s is closed: its rating can no longer be changed.",
                               reference=ticket.reference))
    before = _audited(rating)
    if rating is None:
        rating = SatisfactionRating(ticket=ticket, resolved_at=ticket.resolved_at, rated_at=now)
        db.session.add(rating)
    else:
        rating.changed_at = now
    rating.is_good, rating.comment, rating.agent_id = is_good, comment, ticket.assignee_id
    rating.rated_by_id = by.id if by is not None else None
    changes = audit.diff(before, _audited(rating))
    if changes:
        db.session.flush()
        actor = by if by is not None else cast(Any, _ByMail(ticket.requester_email or "requester"))
        audit.record(actor, "rated", ticket, changes)
        if not is_good:
            rated_not_good.send(ticket, rating=rating, actor=by, now=now)
    return rating


def _audited(rating: SatisfactionRating | None) -> dict[str, Any]:
    if rating is None:
        return {}
    return {"satisfaction": "good" if rating.is_good else "not_good", "satisfaction_comment": rating.comment}


# --- the mail -------------------------------------------------------------------------------------------

RESOLVED = emails.register(
    "tickets/resolved", trigger=_l("A ticket is resolved without a reply (a reply that resolves it carries the "
                                   "rating itself)"),
    recipients=_l("The ticket's requester"),
    sample=lambda: {"tag": f"[{current_app.config['MAIL_SUBJECT_TAG']} #1234]".replace("[ #", "[#"),
                    "reference": "#1234", "ticket_subject": "No puc canviar el logotip de la plataforma",
                    "ticket_url": f"{base_url()}/tickets/1234",
                    "rating_links": {choice: f"{base_url()}/tickets/1234/rate/…?choice={choice}"
                                     for choice in CHOICES}})


@mailing.reply_context.connect
def _reply_asks(ticket: Ticket, *, context: dict[str, Any], **_: Any) -> None:
    """A reply sent while the ticket is resolved and not yet rated asks for the rating."""
    if ticket.status is TicketStatus.RESOLVED and asks_rating(ticket) and current_rating(ticket) is None:
        context["rating_links"] = rating_links(ticket)


@ticket_status_changed.connect
def _resolved(ticket: Ticket, *, after: TicketStatus, message: Any = None, **_: Any) -> None:
    """Resolved without a reply (a reply's own mail asks then): the requester is told and asked to rate."""
    address = (ticket.requester_email or "").lower()
    if after is not TicketStatus.RESOLVED or message is not None or not address or not asks_rating(ticket):
        return
    if address in mailing.desk_addresses():
        return
    language = recipients.language_of(address, contact=ticket.requester_contact)
    recipients.send(RESOLVED, language, [address], {
        "tag": mailing.subject_tag(ticket), "ticket_subject": mailing.untagged(ticket), "reference": ticket.reference,
        "ticket_url": mailing.ticket_url(ticket), "rating_links": rating_links(ticket)},
        headers={mailing.LOOP_HEADER: mailing.desk_domain(), "Auto-Submitted": "auto-generated"},
        message_id=mailing.new_message_id(ticket), related=ticket)
