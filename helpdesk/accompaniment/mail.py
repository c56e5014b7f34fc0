"""Mail accompaniment sends: the OTPGL's request to assess, the council's news of each decision, and the
sessions' invitations, cancellations (each with its iCalendar file) and reminders; templates in
``templates/emails/accompaniment/``, each rendered in its recipient's language."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask_babel import lazy_gettext as _l

from helpdesk.accompaniment.models import AccompanimentRequest, AccompanimentSession
from helpdesk.accompaniment.states import LABELS, SESSION_KINDS, Need, RequestStatus
from helpdesk.auth.models import User
from helpdesk.core import emails
from helpdesk.core.urls import base_url
from helpdesk.councils import recipients

AUTOMATIC = {"Auto-Submitted": "auto-generated"}
_SAMPLE_START = datetime(2026, 12, 9, 9, 30, tzinfo=timezone.utc)  # a Wednesday morning, for the previews


def request_url(request: AccompanimentRequest) -> str:
    return f"{base_url()}/accompaniment/requests/{request.id}"


def _sample_request() -> dict[str, Any]:
    return {"reference": "ACO-2026-0007", "council": "Ajuntament de Vic", "action": "Pressupostos participatius 2027",
            "request_url": f"{base_url()}/accompaniment/requests/7"}


def _sample_session() -> dict[str, Any]:
    return {**_sample_request(), "kind": SESSION_KINDS[Need.CONFIGURATION], "starts_at": _SAMPLE_START,
            "minutes": 90, "online": True, "location": "https://meet.example.org/participa311-vic"}


TO_ASSESS = emails.register(
    "accompaniment/to_assess", trigger=_l("A council (or an agent for it) asks for accompaniment"),
    recipients=_l("Every active OTPGL approver"),
    sample=lambda: {**_sample_request(), "description": "Volem obrir la fase de propostes al gener i necessitem "
                                                        "ajuda per configurar-la."})
DECISION = emails.register(
    "accompaniment/decision", trigger=_l("An accompaniment request is authorised, refused, asked for information, "
                                         "scheduled, completed or cancelled"),
    recipients=_l("The council user who asked for it"),
    sample=lambda: {**_sample_request(), "status": LABELS[RequestStatus][RequestStatus.AUTHORISED],
                    "explanation": "D'acord: l'acció s'adiu amb els objectius del servei."})
INVITATION = emails.register(
    "accompaniment/invitation", trigger=_l("An adviser books or changes a session (with its invitation, .ics)"),
    recipients=_l("The session's adviser and attendees"), sample=_sample_session)
CANCELLATION = emails.register(
    "accompaniment/cancellation", trigger=_l("A session is called off, or an attendee is dropped from it (with "
                                             "the cancellation, .ics)"),
    recipients=_l("The session's adviser and attendees (those dropped, for a change)"), sample=_sample_session)
SESSION_REMINDER = emails.register(
    "accompaniment/session_reminder", trigger=_l("One working day before a planned session"),
    recipients=_l("The session's adviser and attendees"), sample=_sample_session)


def ask_approvers(request: AccompanimentRequest, approvers: list[str]) -> None:
    """Ask the OTPGL approvers (their addresses) to assess a new request."""
    recipients.send_to_each(TO_ASSESS, approvers, {
        "reference": request.reference, "council": request.council.name, "action": request.action,
        "description": request.description, "request_url": request_url(request)}, headers=AUTOMATIC, related=request)


def tell_council(request: AccompanimentRequest, asker: User, explanation: str) -> None:
    """Tell who asked (a council user) the request's new state, with the OTPGL's words where they explain it."""
    recipients.send(DECISION, recipients.language_of(asker.email, user=asker), [asker.email], {
        "reference": request.reference, "council": request.council.name, "action": request.action,
        "status": LABELS[RequestStatus][request.status], "explanation": explanation,
        "request_url": request_url(request)}, headers=AUTOMATIC, related=request)


def _session(session: AccompanimentSession) -> dict[str, Any]:
    request = session.request
    return {"reference": request.reference, "council": request.council.name, "action": request.action,
            "kind": SESSION_KINDS[session.kind], "starts_at": session.starts_at, "minutes": session.duration_minutes,
            "online": session.online, "location": session.location, "request_url": request_url(request)}


def invite(session: AccompanimentSession, method: str, addresses: list[str], sha256: str) -> None:
    """Send the session's invitation (``method`` REQUEST) or cancellation (CANCEL), its iCalendar file stored
    as ``sha256``, to ``addresses`` in their languages (the same file to each: calendars read no language)."""
    attachment = {"filename": "invite.ics" if method == "REQUEST" else "cancel.ics", "content_type": "text/calendar",
                  "sha256": sha256, "params": {"method": method}}
    recipients.send_to_each(INVITATION if method == "REQUEST" else CANCELLATION, addresses, _session(session),
                            headers=AUTOMATIC, related=session.request, attachments=[attachment])


def remind_session(session: AccompanimentSession) -> None:
    """Remind the adviser and attendees of a session that comes the next working day."""
    recipients.send_to_each(SESSION_REMINDER, [session.adviser.email, *session.attendees], _session(session),
                            headers=AUTOMATIC, related=session.request)

