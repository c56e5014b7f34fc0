"""The API's requests and answers as pydantic models: Spectree validates requests with them and writes the
OpenAPI document from them. The answers mirror helpdesk/api/representations.py field by field (a test
checks each representation against its model)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from helpdesk.core.validation import LARGEST_NUMBER
from helpdesk.tickets.inbox import VIEWS
from helpdesk.tickets.models import BODY_MAX_LENGTH, FILENAME_MAX_LENGTH, SUBJECT_MAX_LENGTH
from helpdesk.tickets.states import Category, Channel, MessageKind, Priority, TicketStatus

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
Id = Annotated[int, Field(ge=1, le=LARGEST_NUMBER)]
StatusName = Literal[tuple(item.value for item in TicketStatus)]  # type: ignore[valid-type]
PriorityName = Literal[tuple(item.value for item in Priority)]  # type: ignore[valid-type]
CategoryName = Literal[tuple(item.value for item in Category)]  # type: ignore[valid-type]
ChannelName = Literal[tuple(item.value for item in Channel)]  # type: ignore[valid-type]
API_SORTS = ("-updated", "updated", "-created", "created")


class Strict(BaseModel):
    """A request body: a field the API does not know is refused, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


# --- requests ---------------------------------------------------------------------------------------

class Page(BaseModel):
    cursor: str | None = Field(None, max_length=500, description="The `next_cursor` of the previous page.")
    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class TicketListQuery(Page):
    view: Literal[tuple(VIEWS)] = Field("all", description="A saved view of the inbox (staff).")  # type: ignore
    status: list[StatusName] = []
    priority: list[PriorityName] = []
    category: list[CategoryName] = []
    channel: list[ChannelName] = []
    council: Id | None = None
    instance: Id | None = None
    assignee: str | None = Field(None, pattern=r"^(me|none|[1-9][0-9]{0,9})$")
    tag: list[Annotated[str, Field(max_length=50)]] = Field([], max_length=5)
    q: str | None = Field(None, max_length=200, description="Full-text search, or #123 for a ticket.")
    sort: Literal[API_SORTS] = "-updated"  # type: ignore[valid-type]


class CouncilListQuery(Page):
    q: str | None = Field(None, max_length=200, description="Part of the council's name.")


class InstanceListQuery(Page):
    council: Id | None = None
    health: Literal["up", "down", "unknown"] | None = None


class CouncilFilter(Page):
    council: Id | None = None


class AuditQuery(Page):
    object_type: Literal["ticket", "council", "contact", "instance", "catalogue_request", "grant",
                         "accompaniment_session"]
    object_id: Id


class UploadIn(Strict):
    filename: str = Field(min_length=1, max_length=FILENAME_MAX_LENGTH)
    content_type: str = Field("", max_length=127)
    content_base64: str = Field(description="The file's bytes, base64-encoded.")


class TicketIn(Strict):
    subject: str = Field(min_length=1, max_length=SUBJECT_MAX_LENGTH)
    body: str = Field(min_length=1, max_length=BODY_MAX_LENGTH)
    category: CategoryName = "other"
    priority: PriorityName = "normal"
    channel: ChannelName = "web"
    council_id: Id | None = None
    instance_id: Id | None = None
    requester_contact_id: Id | None = None
    requester_name: str = Field("", max_length=200)
    requester_email: str = Field("", max_length=254)
    requester_phone: str = Field("", max_length=20)
    attachments: list[UploadIn] = Field([], max_length=10)


class MessageIn(Strict):
    body: str = Field(min_length=1, max_length=BODY_MAX_LENGTH)
    attachments: list[UploadIn] = Field([], max_length=10)
    then: StatusName | None = Field(None, description="The status the ticket takes with a reply (staff).")


class NoteIn(Strict):
    body: str = Field(min_length=1, max_length=BODY_MAX_LENGTH)
    attachments: list[UploadIn] = Field([], max_length=10)


class TicketPatch(Strict):
    """Only the fields sent change; send the ETag you read in ``If-Match`` to refuse a stale change."""

    subject: str | None = Field(None, min_length=1, max_length=SUBJECT_MAX_LENGTH)
    status: StatusName | None = None
    priority: PriorityName | None = None
    category: CategoryName | None = None
    council_id: Id | None = None
    instance_id: Id | None = None
    assignee_id: Id | None = None
    requester_name: str | None = Field(None, max_length=200)
    requester_email: str | None = Field(None, max_length=254)
    requester_phone: str | None = Field(None, max_length=20)


# --- answers ----------------------------------------------------------------------------------------

class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] = []


class UserSummary(BaseModel):
    id: int
    name: str
    email: str | None = None
    role: str | None = None


class Requester(BaseModel):
    contact_id: int | None
    name: str
    email: str | None
    phone: str | None


class Sla(BaseModel):
    first_response_due_at: str | None
    first_response_breached_at: str | None
    resolution_due_at: str | None
    resolution_breached_at: str | None
    next_due_at: str | None


class TicketOut(BaseModel):
    id: int
    reference: str
    url: str
    subject: str
    status: StatusName
    priority: PriorityName
    category: CategoryName
    channel: ChannelName
    council_id: int | None
    instance_id: int | None
    requester: Requester
    assignee: UserSummary | None
    merged_into_id: int | None
    created_at: str
    updated_at: str
    first_response_at: str | None
    resolved_at: str | None
    closed_at: str | None
    activity_at: str | None = Field(None, description="Staff only: the last activity, internal notes included.")
    version: int | None = Field(None, description="Staff only: raised by every change of the ticket's row.")
    sla: Sla | None = None


class AttachmentOut(BaseModel):
    id: int
    url: str
    download_url: str
    message_id: int
    filename: str
    content_type: str
    size: int
    sha256: str


class MessageOut(BaseModel):
    id: int
    url: str
    ticket_id: int
    kind: Literal[tuple(item.value for item in MessageKind)]  # type: ignore[valid-type]
    author: UserSummary | None
    from_name: str
    from_address: str
    subject: str
    body_text: str
    body_html: str
    created_at: str
    deleted_at: str | None
    attachments: list[AttachmentOut]


class CouncilOut(BaseModel):
    id: int
    url: str
    name: str
    kind: str
    ine_code: str
    email_domains: list[str]
    phone_numbers: list[str]
    created_at: str
    updated_at: str
    notes: str | None = None


class ContactOut(BaseModel):
    id: int
    url: str
    council_id: int
    name: str
    position: str
    email: str | None
    phone: str | None
    is_technical_referent: bool
    language: str
    created_at: str
    updated_at: str


class Health(BaseModel):
    state: str
    checked_at: str | None
    down_since: str | None
    failures_in_a_row: int


class InstanceOut(BaseModel):
    id: int
    url: str
    council_id: int
    base_url: str
    decidim_version: str
    enabled_modules: list[str]
    status: str
    organisation_name: str
    health: Health
    created_at: str
    updated_at: str
    notes: str | None = None


class CatalogueRequestOut(BaseModel):
    id: int
    reference: str
    url: str
    kind: str
    status: str
    council_id: int
    resource_id: int
    year: int
    project_kind: str | None
    project_title: str
    project_description: str
    project_starts_on: str | None
    referent_contact_id: int | None
    instance_id: int | None
    desired_host: str
    languages: list[str]
    accepts_terms: bool
    renews_grant_id: int | None
    manager_message: str
    council_answer: str
    submitted_at: str | None
    decided_at: str | None
    created_at: str
    updated_at: str


class GrantOut(BaseModel):
    id: int
    url: str
    council_id: int
    resource_id: int
    instance_id: int
    request_id: int
    status: str
    starts_on: str
    ends_on: str
    renewals: int
    lapsed_on: str | None
    created_at: str
    updated_at: str


class SessionOut(BaseModel):
    id: int
    url: str
    request_id: int
    council_id: int
    kind: str
    status: str
    starts_at: str
    ends_at: str
    duration_minutes: int
    online: bool
    location: str
    adviser: UserSummary | None
    attendees: list[str]
    notes_for_council: str
    follow_up_actions: str
    cancel_reason: str
    created_at: str
    updated_at: str
    internal_notes: str | None = None


class AuditEventOut(BaseModel):
    id: int
    created_at: str
    actor: UserSummary | None
    actor_label: str
    action: str
    changes: dict[str, Any]


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class CouncilPage(BaseModel):
    items: list[CouncilOut]
    next_cursor: str | None


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None


class InstancePage(BaseModel):
    items: list[InstanceOut]
    next_cursor: str | None


class CatalogueRequestPage(BaseModel):
    items: list[CatalogueRequestOut]
    next_cursor: str | None


class GrantPage(BaseModel):
    items: list[GrantOut]
    next_cursor: str | None


class SessionPage(BaseModel):
    items: list[SessionOut]
    next_cursor: str | None


class AuditPage(BaseModel):
    items: list[AuditEventOut]
    next_cursor: str | None
