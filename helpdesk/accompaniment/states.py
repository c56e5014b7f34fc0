"""Accompaniment's coded values and the table of who moves a request from which state to which."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Labelled(enum.Enum):
    @property
    def label(self) -> str:
        return str(LABELS[type(self)][self])


class RequestStatus(Labelled):
    REQUESTED = "requested"  # waiting for the OTPGL's assessment
    NEEDS_INFORMATION = "needs_information"
    AUTHORISED = "authorised"
    REFUSED = "refused"
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class Need(Labelled):
    DESIGN = "design"  # adapting the action's design to Participa311
    CONFIGURATION = "configuration"  # configuring the features it needs
    FOLLOW_UP = "follow_up"


class SessionStatus(Labelled):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


LABELS: dict[type, dict] = {
    RequestStatus: {RequestStatus.REQUESTED: _l("Waiting for assessment"),
                    RequestStatus.NEEDS_INFORMATION: _l("Needs information"),
                    RequestStatus.AUTHORISED: _l("Authorised"), RequestStatus.REFUSED: _l("Refused"),
                    RequestStatus.SCHEDULED: _l("Scheduled"), RequestStatus.IN_PROGRESS: _l("In progress"),
                    RequestStatus.COMPLETED: _l("Completed"), RequestStatus.CANCELLED: _l("Cancelled")},
    Need: {Need.DESIGN: _l("Adapting the action's design to Participa311"),
           Need.CONFIGURATION: _l("Configuring the features the action needs"),
           Need.FOLLOW_UP: _l("Follow-up of the action")},
    SessionStatus: {SessionStatus.PLANNED: _l("Planned"), SessionStatus.HELD: _l("Held"),
                    SessionStatus.CANCELLED: _l("Cancelled")},
}
SESSION_KINDS = {Need.DESIGN: _l("Design adaptation"), Need.CONFIGURATION: _l("Feature configuration"),
                 Need.FOLLOW_UP: _l("Follow-up")}

COUNCIL, OTPGL, ADVISER = "council", "otpgl", "adviser"
TRANSITIONS: dict[tuple[RequestStatus, RequestStatus], str] = {
    (RequestStatus.REQUESTED, RequestStatus.AUTHORISED): OTPGL,
    (RequestStatus.REQUESTED, RequestStatus.REFUSED): OTPGL,
    (RequestStatus.REQUESTED, RequestStatus.NEEDS_INFORMATION): OTPGL,
    (RequestStatus.NEEDS_INFORMATION, RequestStatus.REQUESTED): COUNCIL,  # answered
    (RequestStatus.AUTHORISED, RequestStatus.SCHEDULED): ADVISER,  # the first session is booked
    (RequestStatus.SCHEDULED, RequestStatus.IN_PROGRESS): ADVISER,  # a session was held
    (RequestStatus.SCHEDULED, RequestStatus.COMPLETED): ADVISER,
    (RequestStatus.IN_PROGRESS, RequestStatus.COMPLETED): ADVISER,
    **{(status, RequestStatus.CANCELLED): COUNCIL for status in (
        RequestStatus.REQUESTED, RequestStatus.NEEDS_INFORMATION, RequestStatus.AUTHORISED,
        RequestStatus.SCHEDULED, RequestStatus.IN_PROGRESS)},
}
SCHEDULABLE = frozenset({RequestStatus.AUTHORISED, RequestStatus.SCHEDULED, RequestStatus.IN_PROGRESS})
