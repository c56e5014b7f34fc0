"""Accompaniment's rules: a council asks (its instance must hold an active grant), the OTPGL assesses
and authorises or refuses, and only then do advisers book sessions, each sent as an iCalendar
invitation. Services flush and audit; the caller commits; e-mail goes through the outbox."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from blinker import Namespace
from flask import current_app
from flask_babel import lazy_gettext as _l
from icalendar import Calendar as ICalendar
from icalendar import Event, vCalAddress, vText
from sqlalchemy import select

from helpdesk.accompaniment import mail
from helpdesk.accompaniment.models import TEXT_MAX_LENGTH, AccompanimentRequest, AccompanimentSession
from helpdesk.accompaniment.states import (ADVISER, COUNCIL, OTPGL, SCHEDULABLE, SESSION_KINDS, TRANSITIONS, Need,
                                           RequestStatus, SessionStatus)
from helpdesk.auth.models import Role, User
from helpdesk.catalog.models import Grant
from helpdesk.catalog.states import GrantStatus
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed
from helpdesk.core.templating import short_datetime
from helpdesk.core.validation import EARLIEST_YEAR, LATEST_YEAR, normalise_email, split_list
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.sla.services import support_calendar
from helpdesk.tickets.services import blob_store

FILERS = frozenset({Role.ADMIN, Role.AGENT})  # staff who ask on a council's behalf
APPROVERS = frozenset({Role.OTPGL_APPROVER})
ADVISERS = frozenset({Role.ADMIN, Role.AGENT, Role.TECHNICIAN})
MAX_SESSION_MINUTES = 8 * 60
#: Sent once a session was booked for an authorised request (sender: the session; actor, now): webhooks listen.
session_booked = Namespace().signal("session-booked")


@dataclass
class RequestData:
    instance_id: int | None
    action: str
    description: str = ""
    needs: list[str] = field(default_factory=list)
    preferred_dates: str = ""
    attendees: str = ""


@dataclass
class SessionData:
    kind: str
    starts_at: datetime  # aware
    duration_minutes: int
    online: bool
    location: str
    adviser_id: int | None
    attendees: str = ""  # e-mail addresses, separated by commas, semicolons or spaces


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _may_ask(actor: User | None, council: Council) -> None:
    if actor is None:
        return
    if actor.is_staff and actor.role not in FILERS:
        raise NotAllowed(_l("Only agents ask for accompaniment on a council's behalf."))
    if not actor.is_staff and actor.council_id != council.id:
        raise NotAllowed(_l("You can only ask for accompaniment for your own council."))


def _move(actor: User | None, request: AccompanimentRequest, target: RequestStatus, now: datetime,
          changes: dict | None = None, notify: bool = True) -> None:
    who = TRANSITIONS.get((request.status, target))
    if who is None:
        raise InvalidTransition(_l("An accompaniment request that is %(current)s cannot become %(new)s.",
                                   current=request.status.label.lower(), new=target.label.lower()))
    if actor is not None:
        if who == OTPGL and actor.role not in APPROVERS:
            raise NotAllowed(_l("Only OTPGL approvers assess and authorise accompaniment."))
        if who == ADVISER and actor.role not in ADVISERS:
            raise NotAllowed(_l("Only the support team's advisers schedule and follow sessions."))
        if who == COUNCIL and not actor.is_staff:
            _may_ask(actor, request.council)
    before = request.status
    request.status, request.updated_at = target, now
    audit.record(actor, "status_changed", request,
                 {"status": {"before": before.value, "after": target.value}, **(changes or {})})
    if notify:
        _tell_council(request)


def ask(actor: User | None, council: Council, data: RequestData, now: datetime) -> AccompanimentRequest:
    """A council's request for accompaniment; its instance must hold an active grant."""
    _may_ask(actor, council)
    instance = db.session.get(PlatformInstance, data.instance_id) if data.instance_id else None
    if instance is None or instance.council_id != council.id:
        raise DomainError(_l("Choose the council's platform the action will use."), "instance_id")
    if db.session.scalar(select(Grant.id).where(Grant.instance_id == instance.id,
                                                Grant.status == GrantStatus.ACTIVE)) is None:
        raise DomainError(_l("%(host)s has no active grant of the Participa311 platform. Accompaniment is for "
                             "councils that have it: request the platform (or renew it) in the Service "
                             "Catalogue first.", host=instance.host), "instance_id")
    action = " ".join(data.action.split())
    if not action or len(action) > 200:
        raise DomainError(_l("Say which action you want to carry out (at most 200 characters)."), "action")
    needs = [item.value for item in Need if item.value in data.needs]
    if not needs:
        raise DomainError(_l("Choose what you need help with."), "needs")
    for name in ("description", "preferred_dates", "attendees"):
        if len(getattr(data, name)) > TEXT_MAX_LENGTH:
            raise DomainError(_l("At most %(count)d characters.", count=TEXT_MAX_LENGTH), name)
    request = AccompanimentRequest(council=council, instance=instance, action=action,
                                   description=data.description.strip(), needs=needs,
                                   preferred_dates=data.preferred_dates.strip(), attendees=data.attendees.strip(),
                                   status=RequestStatus.REQUESTED, requested_at=now,
                                   created_by_id=actor.id if actor else None)
    db.session.add(request)
    db.session.flush()
    audit.record(actor, "created", request, audit.diff({}, audit.snapshot(request, AccompanimentRequest.AUDITED)))
    approvers = db.session.scalars(select(User.email).where(User.role == Role.OTPGL_APPROVER, User.is_active)
                                   .order_by(User.id)).all()
    mail.ask_approvers(request, list(approvers))
    return request


def _written(text: str, field_name: str, message) -> str:
    text = text.strip()
    if not text:
        raise DomainError(message, field_name)
    return text[:TEXT_MAX_LENGTH]


def authorise(actor: User | None, request: AccompanimentRequest, assessment: str, now: datetime) -> None:
    request.assessment = _written(assessment, "assessment", _l("Write the assessment: it is kept with the decision."))
    request.decided_by_id, request.decided_at = (actor.id if actor else None), now
    _move(actor, request, RequestStatus.AUTHORISED, now, {"assessment": {"before": None, "after": request.assessment}})


def refuse(actor: User | None, request: AccompanimentRequest, assessment: str, now: datetime) -> None:
    request.assessment = _written(assessment, "assessment",
                                  _l("Write the assessment: the council sees why it was refused."))
    request.decided_by_id, request.decided_at = (actor.id if actor else None), now
    _move(actor, request, RequestStatus.REFUSED, now, {"assessment": {"before": None, "after": request.assessment}})


def ask_information(actor: User | None, request: AccompanimentRequest, question: str, now: datetime) -> None:
    request.question = _written(question, "assessment", _l("Say what information is missing: the council sees it."))
    _move(actor, request, RequestStatus.NEEDS_INFORMATION, now, {"question": {"before": None, "after": question}})


def answer(actor: User | None, request: AccompanimentRequest, text: str, now: datetime) -> None:
    _may_ask(actor, request.council)  # the council, or an agent for it; not the OTPGL nor a technician
    request.council_answer = _written(text, "answer", _l("Answer the OTPGL's question."))
    _move(actor, request, RequestStatus.REQUESTED, now, {"answer": {"before": None, "after": request.council_answer}})


def cancel(actor: User | None, request: AccompanimentRequest, reason: str, now: datetime) -> None:
    """Cancel the request (the council, or an adviser for it); its planned sessions are called off."""
    if actor is not None and actor.is_staff and actor.role not in ADVISERS:
        raise NotAllowed(_l("Only the council or the support team cancel an accompaniment."))
    request.cancel_reason = _written(reason, "reason", _l("Say why it is cancelled."))
    for session in request.sessions:
        if session.status is SessionStatus.PLANNED:
            cancel_session(actor, session, request.cancel_reason, now, check_actor=False)
    _move(actor, request, RequestStatus.CANCELLED, now, {"reason": {"before": None, "after": request.cancel_reason}})


def complete(actor: User | None, request: AccompanimentRequest, now: datetime) -> None:
    if any(session.status is SessionStatus.PLANNED for session in request.sessions):
        raise DomainError(_l("Some sessions are still planned: hold or cancel them first."))
    _move(actor, request, RequestStatus.COMPLETED, now)


# --- Sessions ------------------------------------------------------------------------------------------

def _require_adviser(actor: User | None) -> None:
    if actor is not None and actor.role not in ADVISERS:
        raise NotAllowed(_l("Only the support team's advisers schedule and follow sessions."))


def _clean_session(data: SessionData, now: datetime, session: AccompanimentSession | None) -> tuple:
    try:
        kind = Need(data.kind)
    except ValueError:
        raise DomainError(_l("Unknown value “%(value)s”.", value=data.kind), "kind") from None
    if data.starts_at <= now:
        raise DomainError(_l("A session is booked for a time to come."), "starts_at")
    if data.starts_at.year > LATEST_YEAR:
        raise DomainError(_l("Give a date between %(first)d and %(last)d.", first=EARLIEST_YEAR, last=LATEST_YEAR),
                          "starts_at")
    if not 15 <= data.duration_minutes <= MAX_SESSION_MINUTES:
        raise DomainError(_l("A session lasts from 15 minutes to 8 hours."), "duration_minutes")
    location = data.location.strip()
    if not location:
        raise DomainError(_l("Give the link of the online session.") if data.online
                          else _l("Say where the session takes place."), "location")
    if data.online and not location.startswith("https://"):
        raise DomainError(_l("The link must start with https://."), "location")
    adviser = db.session.get(User, data.adviser_id) if data.adviser_id else None
    if adviser is None or not adviser.is_active or adviser.role not in ADVISERS:
        raise DomainError(_l("Choose the adviser from the support team."), "adviser_id")
    attendees = [normalise_email(item, "attendees") for item in split_list(data.attendees)]
    ends_at = data.starts_at + timedelta(minutes=data.duration_minutes)
    nearby = db.session.scalars(select(AccompanimentSession).where(
        AccompanimentSession.adviser_id == adviser.id, AccompanimentSession.status == SessionStatus.PLANNED,
        AccompanimentSession.starts_at < ends_at,
        AccompanimentSession.starts_at > data.starts_at - timedelta(minutes=MAX_SESSION_MINUTES)))
    for other in nearby:
        if other is not session and other.ends_at > data.starts_at:
            raise DomainError(_l("%(name)s already has a session then (%(reference)s, %(when)s).", name=adviser.name,
                                 reference=other.request.reference,
                                 when=short_datetime(other.starts_at)), "starts_at")
    return kind, location, adviser, attendees


@dataclass(frozen=True)
class SessionDefaults:
    kind: str  # a Need's value
    attendees: str  # e-mail addresses, one a line


_ADDRESS = re.compile(r"[^\s,;:<>()\[\]\"']+@[^\s,;:<>()\[\]\"']+\.[^\s,;:<>()\[\]\"'.]+")


def session_defaults(request: AccompanimentRequest) -> SessionDefaults:
    """What a new session of ``request`` starts from: the first need the council asked for that no session
    covers yet, and the attendees' addresses it gave (else the address of the council's person who asked)."""
    covered = {session.kind.value for session in request.sessions if session.status is not SessionStatus.CANCELLED}
    needs = [need for need in request.needs if need in {item.value for item in Need}]
    kind = next((need for need in needs if need not in covered), needs[-1] if needs else Need.DESIGN.value)
    addresses: list[str] = []
    for candidate in _ADDRESS.findall(request.attendees or ""):
        try:
            address = normalise_email(candidate, "attendees")
        except DomainError:
            continue  # words the council wrote that only look like an address
        if address not in addresses:
            addresses.append(address)
    if not addresses and request.created_by_id is not None:
        asker = db.session.get(User, request.created_by_id)
        if asker is not None and asker.council_id == request.council_id and asker.is_active:
            addresses.append(asker.email)
    return SessionDefaults(kind, "\n".join(addresses))


def schedule_session(actor: User | None, request: AccompanimentRequest, data: SessionData,
                     now: datetime) -> AccompanimentSession:
    """Book a session for an authorised request and send its invitation (METHOD:REQUEST)."""
    _require_adviser(actor)
    if request.status not in SCHEDULABLE:
        raise InvalidTransition(_l("No session can be scheduled before the OTPGL authorises the accompaniment "
                                   "(it is %(status)s).", status=request.status.label.lower()))
    defaults = session_defaults(request)
    # What the council asked for unless the adviser chose otherwise: an empty list invites whom it named.
    data = replace(data, kind=data.kind or defaults.kind, attendees=data.attendees.strip() or defaults.attendees)
    kind, location, adviser, attendees = _clean_session(data, now, None)
    session = AccompanimentSession(request=request, kind=kind, starts_at=data.starts_at,
                                   duration_minutes=data.duration_minutes, online=data.online, location=location,
                                   adviser=adviser, attendees=attendees, status=SessionStatus.PLANNED,
                                   uid=f"{secrets.token_hex(12)}@{_domain()}", sequence=0)
    db.session.add(session)
    db.session.flush()
    audit.record(actor, "session_scheduled", request, {"session": {"before": None, "after": session.id},
                                                       **audit.diff({}, audit.snapshot(session, ("starts_at",)))})
    if request.status is RequestStatus.AUTHORISED:
        _move(actor, request, RequestStatus.SCHEDULED, now, notify=False)
    _send_invitation(session, "REQUEST", now)
    session_booked.send(session, actor=actor, now=now)
    return session


def reschedule_session(actor: User | None, session: AccompanimentSession, data: SessionData, now: datetime) -> None:
    """Change a planned session: the same UID, a higher SEQUENCE, so calendars update the event."""
    _require_adviser(actor)
    if session.status is not SessionStatus.PLANNED:
        raise InvalidTransition(_l("Only a planned session can be changed."))
    before = audit.snapshot(session, AccompanimentSession.AUDITED)
    kind, location, adviser, attendees = _clean_session(data, now, session)
    dropped = [email for email in session.attendees if email not in attendees]
    session.kind, session.starts_at, session.duration_minutes = kind, data.starts_at, data.duration_minutes
    session.online, session.location, session.adviser, session.attendees = data.online, location, adviser, attendees
    session.sequence += 1
    session.reminded_at = None
    changes = audit.diff(before, audit.snapshot(session, AccompanimentSession.AUDITED))
    audit.record(actor, "session_changed", session.request, changes)
    _send_invitation(session, "REQUEST", now)
    if dropped:
        _send_invitation(session, "CANCEL", now, only=dropped)


def cancel_session(actor: User | None, session: AccompanimentSession, reason: str, now: datetime, *,
                   check_actor: bool = True) -> None:
    if check_actor:
        _require_adviser(actor)
    if session.status is not SessionStatus.PLANNED:
        raise InvalidTransition(_l("Only a planned session can be cancelled."))
    session.status, session.cancel_reason = SessionStatus.CANCELLED, reason.strip()[:TEXT_MAX_LENGTH]
    session.sequence += 1
    audit.record(actor, "session_cancelled", session.request, {"session": {"before": session.id, "after": None},
                                                               "reason": {"before": None, "after": reason}})
    _send_invitation(session, "CANCEL", now)


def record_outcome(actor: User | None, session: AccompanimentSession, notes_for_council: str, internal_notes: str,
                   follow_up_actions: str, now: datetime) -> None:
    """After a session: what the council should know, what stays in the team, what comes next."""
    _require_adviser(actor)
    if session.status is SessionStatus.CANCELLED:
        raise InvalidTransition(_l("A cancelled session has no outcome."))
    if session.starts_at > now:
        raise DomainError(_l("The session has not taken place yet."), "notes_for_council")
    session.notes_for_council = notes_for_council.strip()[:TEXT_MAX_LENGTH]
    session.internal_notes = internal_notes.strip()[:TEXT_MAX_LENGTH]
    session.follow_up_actions = follow_up_actions.strip()[:TEXT_MAX_LENGTH]
    session.status = SessionStatus.HELD
    audit.record(actor, "session_held", session.request, {"session": {"before": None, "after": session.id}})
    if session.request.status is RequestStatus.SCHEDULED:
        _move(actor, session.request, RequestStatus.IN_PROGRESS, now)


# --- Invitations and reminders --------------------------------------------------------------------------

def _domain() -> str:
    return current_app.config["SUPPORT_EMAIL"].rpartition("@")[2]


def invitation(session: AccompanimentSession, method: str, now: datetime) -> bytes:
    """The session as iCalendar: METHOD:REQUEST to invite or update, METHOD:CANCEL to call it off."""
    request = session.request
    calendar = ICalendar()
    calendar.add("prodid", "-//Diputacio de Barcelona//Participa311 support desk//CA")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", session.uid)
    event.add("sequence", session.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", session.starts_at)
    event.add("dtend", session.ends_at)
    event.add("summary", f"Participa311 · {SESSION_KINDS[session.kind]}: {request.action} ({request.council.name})")
    event.add("description", f"{request.reference} · {request.instance.base_url}\n{mail.request_url(request)}")
    event.add("location", session.location)
    if session.online:
        event.add("url", session.location)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{current_app.config['SUPPORT_EMAIL']}")
    organizer.params["cn"] = vText(current_app.config["MAIL_FROM_NAME"])
    event["organizer"] = organizer
    for email in [session.adviser.email, *session.attendees]:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["rsvp"] = vText("TRUE")
        event.add("attendee", attendee, encode=0)
    calendar.add_component(event)
    return calendar.to_ical()


def _send_invitation(session: AccompanimentSession, method: str, now: datetime, only: list[str] | None = None) -> None:
    recipients = only or [session.adviser.email, *session.attendees]
    mail.invite(session, method, recipients, blob_store().put(invitation(session, method, now)))


def _tell_council(request: AccompanimentRequest) -> None:
    """The council's contact for the request (who asked) hears of each decision."""
    asker = db.session.get(User, request.created_by_id) if request.created_by_id else None
    if asker is None or asker.is_staff:
        return
    explanation = {RequestStatus.AUTHORISED: request.assessment, RequestStatus.REFUSED: request.assessment,
                   RequestStatus.NEEDS_INFORMATION: request.question}.get(request.status, "")
    mail.tell_council(request, asker, explanation or "")


def reminder_day(session_day: date) -> date:
    """One working day before the session (support hours and Catalan holidays)."""
    calendar = support_calendar()
    day = session_day - timedelta(days=1)
    for _attempt in range(366):
        if calendar is None or calendar.is_business_day(day):
            return day
        day -= timedelta(days=1)
    return day


def remind_session(session: AccompanimentSession, now: datetime) -> bool:
    """Remind the adviser and attendees of one planned session, once, when its reminder day (one working
    day before it) has come; True when the reminder was queued."""
    if session.status is not SessionStatus.PLANNED or session.reminded_at is not None or session.starts_at <= now:
        return False
    if now.astimezone(_zone()).date() < reminder_day(session.starts_at.astimezone(_zone()).date()):
        return False
    mail.remind_session(session)
    session.reminded_at = now
    return True
