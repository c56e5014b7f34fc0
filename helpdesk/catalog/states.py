"""Catalogue requests' coded values and the table of who may move a request from which state to which."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l


class Labelled(enum.Enum):
    @property
    def label(self) -> str:
        return str(LABELS[type(self)][self])


class RequestStatus(Labelled):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    UNDER_REVIEW = "under_review"
    NEEDS_INFORMATION = "needs_information"
    GRANTED = "granted"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"


class RequestKind(Labelled):
    NEW = "new"
    RENEWAL = "renewal"


class ProjectKind(Labelled):
    PARTICIPATORY_PROCESS = "participatory_process"
    DIGITAL_BODIES = "digital_bodies"
    CONSULTATION = "consultation"
    OTHER = "other"


class GrantStatus(Labelled):
    ACTIVE = "active"
    GRACE = "grace"  # ended without a renewal: a few more weeks before it lapses
    LAPSED = "lapsed"


LABELS: dict[type, dict] = {
    RequestStatus: {RequestStatus.DRAFT: _l("Draft"), RequestStatus.SUBMITTED: _l("Submitted"),
                    RequestStatus.UNDER_REVIEW: _l("Under review"),
                    RequestStatus.NEEDS_INFORMATION: _l("Needs information"), RequestStatus.GRANTED: _l("Granted"),
                    RequestStatus.REFUSED: _l("Refused"), RequestStatus.WITHDRAWN: _l("Withdrawn")},
    RequestKind: {RequestKind.NEW: _l("New platform"), RequestKind.RENEWAL: _l("Renewal")},
    ProjectKind: {ProjectKind.PARTICIPATORY_PROCESS: _l("Participatory process"),
                  ProjectKind.DIGITAL_BODIES: _l("Digitalisation of participation spaces or bodies"),
                  ProjectKind.CONSULTATION: _l("Citizen consultation"), ProjectKind.OTHER: _l("Other")},
    GrantStatus: {GrantStatus.ACTIVE: _l("Active"), GrantStatus.GRACE: _l("Grace period"),
                  GrantStatus.LAPSED: _l("Lapsed")},
}

COUNCIL, MANAGER = "council", "manager"
# (from, to) → who may make the move: the council (its users, or an agent filing for it) or a catalogue manager.
TRANSITIONS: dict[tuple[RequestStatus, RequestStatus], str] = {
    (RequestStatus.DRAFT, RequestStatus.SUBMITTED): COUNCIL,
    (RequestStatus.NEEDS_INFORMATION, RequestStatus.SUBMITTED): COUNCIL,  # answered and sent again
    (RequestStatus.SUBMITTED, RequestStatus.UNDER_REVIEW): MANAGER,
    (RequestStatus.UNDER_REVIEW, RequestStatus.NEEDS_INFORMATION): MANAGER,
    (RequestStatus.UNDER_REVIEW, RequestStatus.GRANTED): MANAGER,
    (RequestStatus.UNDER_REVIEW, RequestStatus.REFUSED): MANAGER,
    (RequestStatus.DRAFT, RequestStatus.WITHDRAWN): COUNCIL,
    (RequestStatus.SUBMITTED, RequestStatus.WITHDRAWN): COUNCIL,
    (RequestStatus.UNDER_REVIEW, RequestStatus.WITHDRAWN): COUNCIL,
    (RequestStatus.NEEDS_INFORMATION, RequestStatus.WITHDRAWN): COUNCIL,
}
# A grant that still holds its instance: the council renews it, it does not ask for the platform anew.
LIVE_GRANT_STATUSES = frozenset({GrantStatus.ACTIVE, GrantStatus.GRACE})
OPEN_STATUSES = frozenset({RequestStatus.DRAFT, RequestStatus.SUBMITTED, RequestStatus.UNDER_REVIEW,
                           RequestStatus.NEEDS_INFORMATION})
