"""/api/v1: the desk's records as JSON for other systems, authenticated by personal access tokens only (never
by the session cookie, hence exempt from CSRF). Every change goes through the domains' services, the same
functions the screens and the CLI call; every read through the same visibility conditions."""
from __future__ import annotations

import base64
import io
import binascii
import hashlib
from contextlib import ExitStack
from datetime import timedelta
from typing import Any, Callable

from flask import Blueprint, Response, current_app, g, json, request, send_file
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, InternalServerError

from helpdesk.accompaniment.models import AccompanimentRequest, AccompanimentSession
from helpdesk.api import paging, representations
from helpdesk.api import schemas as s
from helpdesk.api.models import ApiToken, IdempotencyKey
from helpdesk.api.paging import Key
from helpdesk.api.problems import ApiProblem, field_error, from_http_exception, problem_response
from helpdesk.api.spec import answers, api
from helpdesk.api.tokens import authenticate
from helpdesk.auth.models import User
from helpdesk.catalog.models import CatalogRequest, Grant
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed, StaleRecord
from helpdesk.core.models import utcnow
from helpdesk.core.throttle import hit
from helpdesk.councils.models import Contact, Council
from helpdesk.extensions import csrf, db
from helpdesk.instances.models import PlatformInstance
from helpdesk.tickets import inbox
from helpdesk.tickets.models import Attachment, Message, Ticket
from helpdesk.tickets.services import (TicketChanges, TicketData, Upload, add_message, assign, blob_store,
                                       change_status, open_ticket, update_ticket)
from helpdesk.tickets.states import COUNCIL_VISIBLE_KINDS, Category, Channel, MessageKind, Priority, TicketStatus
from helpdesk.tickets.views import DOWNLOAD_TYPES, INLINE_TYPES

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

IDEMPOTENCY_HOURS = 24
PUBLIC_ENDPOINTS = frozenset({"api.openapi", "api.docs", "api.docs_asset"})
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_HEADER = "Authorization"


# --- authentication, scope, rate limit, language -----------------------------------------------------

def _unauthorised(detail: str, error: str = "") -> ApiProblem:
    challenge = 'Bearer realm="api"' + (f', error="{error}"' if error else "")
    return ApiProblem(401, detail, slug="unauthorised", headers={"WWW-Authenticate": challenge})


@bp.before_request
def authenticate_token() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    scheme, _space, secret = request.headers.get(TOKEN_HEADER, "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise _unauthorised(_("Send a personal access token: Authorization: Bearer <token>."))
    now = utcnow()
    token = authenticate(secret.strip(), now, request.remote_addr or "")
    if token is None:
        raise _unauthorised(_("This token is not valid: it may have been revoked, have expired, or belong to a "
                              "deactivated account."), "invalid_token")
    limit = current_app.config["API_RATE_LIMIT_PER_MINUTE"]
    decision = hit(f"api:{token.id}", limit, timedelta(minutes=1), now)
    if not decision.allowed:
        raise ApiProblem(429, _("Too many requests with this token: wait %(seconds)d seconds and try again.",
                                seconds=decision.retry_after), slug="rate-limited",
                         headers={"Retry-After": str(decision.retry_after)})
    if db.session.dirty:
        db.session.commit()  # its last use, before the view (a view that fails still used the token)
    if request.method not in READ_METHODS and not token.can_write:
        raise ApiProblem(403, _("This token may only read: create a token with the write scope to make changes."),
                         slug="insufficient-scope")
    g.api_token, g.api_user = token, token.user
    stack = ExitStack()
    stack.enter_context(force_locale(token.user.language or current_app.config["DEFAULT_LANGUAGE"]))
    g.api_locale = stack
    if request.method in ("POST", "PATCH", "PUT"):
        _check_body()


@bp.teardown_request
def _leave_locale(_error: BaseException | None) -> None:
    stack = g.pop("api_locale", None)
    if stack is not None:
        stack.close()


def _check_body() -> None:
    """A body is JSON (an object), or the answer says what is wrong with it: never a 5xx."""
    if not request.get_data(cache=True):
        return
    if request.mimetype not in ("application/json", ""):
        raise ApiProblem(415, _("Send the body as JSON (Content-Type: application/json)."),
                         slug="unsupported-media-type")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # nested deeper than the parser goes: no request of this API is
        body = None
    if body is None:
        raise ApiProblem(400, _("The body is not valid JSON."), slug="invalid-json",
                         errors=[field_error("", _("The body is not valid JSON."))])
    pointer = _nul_in(body)
    if pointer is not None:  # valid JSON ("\u0000"), but no column takes it (PostgreSQL refuses it outright)
        raise ApiProblem(422, _("Some values are missing or not valid: nothing was changed."), slug="invalid-request",
                         errors=[field_error(pointer, _("This field cannot contain a NUL character."))])


def _nul_in(body: Any) -> str | None:
    """The JSON pointer of a string (a value or a key) of ``body`` that holds a NUL character, if any; walked
    without recursion, as deep as the parser went."""
    pending: list[tuple[str, Any]] = [("", body)]
    while pending:
        pointer, value = pending.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return pointer or "/"
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return pointer or "/"
                pending.append((f"{pointer}/{key}", item))
        elif isinstance(value, list):
            pending.extend((f"{pointer}/{index}", item) for index, item in enumerate(value))
    return None


def viewer() -> User:
    return g.api_user


# --- errors: problem documents for every 4xx and 5xx ------------------------------------------------------

def _problem_for_http(error: HTTPException):
    return from_http_exception(error)


for _code in (400, 401, 403, 404, 405, 406, 409, 410, 412, 413, 415, 422, 428, 429):
    bp.register_error_handler(_code, _problem_for_http)


@bp.errorhandler(InternalServerError)
def _server_error(error: InternalServerError):
    db.session.rollback()
    return problem_response(500, _("Something went wrong on the desk: the error has been logged and nothing was "
                                   "saved. Try again."))


def routing_problem() -> Response | None:
    """404 and 405 of addresses under /api/v1 that match no route (the blueprint's handlers never see them):
    called before every request by the app (see register)."""
    if request.routing_exception is not None and request.path.startswith(bp.url_prefix or "/api/v1"):
        error = request.routing_exception
        if isinstance(error, HTTPException):
            return from_http_exception(error)
    return None


def domain_problem(error: DomainError) -> ApiProblem:
    """A service's refusal as a problem document: who may not (403), stale (412), a rule (409/422)."""
    if isinstance(error, NotAllowed):
        return ApiProblem(403, str(error.message), slug="not-allowed")
    if isinstance(error, StaleRecord):
        return ApiProblem(412, str(error.message), slug="stale")
    errors = [field_error("/" + error.field if error.field else "", error.message)]
    for problem in getattr(error, "problems", []) or []:
        errors.append(field_error("/" + problem.field if problem.field else "", problem.message))
    if isinstance(error, InvalidTransition):
        return ApiProblem(409, str(error.message), slug="invalid-transition", errors=errors)
    return ApiProblem(422, str(error.message), slug="refused", errors=errors)


def run_change(action: Callable[[], Any]) -> Any:
    """Run a service call and commit once; a refusal or a concurrent change rolls back and becomes a problem."""
    try:
        result = action()
        db.session.flush()
    except DomainError as error:
        db.session.rollback()
        raise domain_problem(error) from None
    except StaleDataError:
        db.session.rollback()
        raise ApiProblem(412, _("Someone changed this record at the same moment. Nothing was saved: read it again "
                                "and retry."), slug="stale") from None
    return result


# --- answers: JSON with an ETag, and 304 when the client has it -----------------------------------------------

def etag_of(body: Any) -> str:
    return '"' + hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:32] + '"'


def read_answer(body: Any) -> Response:
    tag = etag_of(body)
    if tag in [f'"{item}"' for item in request.if_none_match.as_set()] or request.if_none_match.star_tag:
        response = current_app.response_class(status=304)
    else:
        response = current_app.response_class(json.dumps(body), mimetype="application/json")
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def listing(items: list[Any], show: Callable[[Any], dict], next_cursor: str | None) -> Response:
    return read_answer({"items": [show(item) for item in items], "next_cursor": next_cursor})


def query_of() -> Any:
    return request.context.query  # type: ignore[attr-defined]  # set by Spectree


def body_of() -> Any:
    body = request.context.json  # type: ignore[attr-defined]
    if body is None:
        raise ApiProblem(415, _("Send the body as JSON (Content-Type: application/json)."),
                         slug="unsupported-media-type")
    return body


def found(statement) -> Any:
    record = db.session.scalars(statement.limit(1)).unique().first()
    if record is None:
        raise ApiProblem(404, _("There is no such record, or it is not yours to see."), slug="not-found")
    return record


def by_id(column) -> list[tuple[Key, str]]:
    return [(Key(column), "id")]


# --- tickets ------------------------------------------------------------------------------------------

TICKET_SORTS: dict[str, list[tuple[Key, str]]] = {
    "-updated": [(Key(Ticket.updated_at, True, "datetime"), "updated_at"), (Key(Ticket.id, True), "id")],
    "updated": [(Key(Ticket.updated_at, False, "datetime"), "updated_at"), (Key(Ticket.id, False), "id")],
    "-created": [(Key(Ticket.id, True), "id")],
    "created": [(Key(Ticket.id, False), "id")],
}


def visible_ticket(number: int) -> Ticket:
    return found(select(Ticket).where(Ticket.id == number, Ticket.visible_to(viewer())))


def show_ticket(ticket: Ticket) -> dict:
    return representations.ticket(ticket, viewer())


@bp.get("/tickets")
@api.validate(query=s.TicketListQuery, resp=answers(s.TicketPage, "HTTP_200", "HTTP_304"), tags=["tickets"])
def list_tickets():
    """List tickets.

    Staff get the inbox's filters, views and full-text search (`q`); council users their council's tickets
    (the filters by status, priority, category and channel apply)."""
    query, user = query_of(), viewer()
    if user.is_staff:
        args = MultiDict([(name, value) for name in ("status", "priority", "category", "channel", "tag")
                          for value in getattr(query, name)])
        for name in ("view", "council", "instance", "assignee", "q"):
            if getattr(query, name) is not None:
                args.add(name, str(getattr(query, name)))
        statement = inbox.statement(inbox.InboxQuery.from_args(args), user)
    else:
        statement = select(Ticket).where(Ticket.visible_to(user))
        for name, column, kind in (("status", Ticket.status, TicketStatus), ("priority", Ticket.priority, Priority),
                                   ("category", Ticket.category, Category), ("channel", Ticket.channel, Channel)):
            if getattr(query, name):
                statement = statement.where(column.in_([kind(value) for value in getattr(query, name)]))
    rows, next_cursor = paging.page(statement, f"tickets{query.sort}", TICKET_SORTS[query.sort], query.cursor,
                                    query.limit)
    return listing(rows, show_ticket, next_cursor)


@bp.get("/tickets/<int:number>")
@api.validate(resp=answers(s.TicketOut, "HTTP_200", "HTTP_304"), tags=["tickets"])
def get_ticket(number: int):
    """Read a ticket (its ETag changes with every change)."""
    return read_answer(show_ticket(visible_ticket(number)))


def uploads_of(items: list[s.UploadIn]) -> list[Upload]:
    files = []
    for index, item in enumerate(items):
        try:
            data = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise ApiProblem(422, _("A file is not valid base64."), slug="invalid-request", errors=[
                field_error(f"/attachments/{index}/content_base64", _("This is not valid base64."))]) from None
        files.append(Upload(filename=item.filename, data=data, content_type=item.content_type))
    return files


def idempotent(create: Callable[[], tuple[dict, str]]) -> Response:
    """Run a create once per ``Idempotency-Key`` (and token): the same key again answers as the first time."""
    key = request.headers.get("Idempotency-Key", "").strip()
    token: ApiToken = g.api_token
    now = utcnow()
    if len(key) > 200:
        raise ApiProblem(422, _("The Idempotency-Key must have at most 200 characters."), slug="invalid-request",
                         errors=[field_error("Idempotency-Key", _("At most 200 characters."))])
    fingerprint = hashlib.sha256(f"{request.method} {request.path} ".encode() + request.get_data()).hexdigest()
    if key:
        db.session.execute(delete(IdempotencyKey).where(
            IdempotencyKey.created_at < now - timedelta(hours=IDEMPOTENCY_HOURS)))
        kept = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.token_id == token.id,
                                                              IdempotencyKey.key == key))
        if kept is not None:
            return _replay(kept, fingerprint)
    body, location = run_change(create)
    if key:
        db.session.add(IdempotencyKey(token_id=token.id, key=key, fingerprint=fingerprint, status=201, body=body,
                                      location=location, created_at=now))
    try:
        db.session.commit()
    except IntegrityError:  # the same key at the same moment: the other request made it
        db.session.rollback()
        kept = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.token_id == token.id,
                                                              IdempotencyKey.key == key))
        if kept is None:
            raise
        return _replay(kept, fingerprint)
    response = current_app.response_class(json.dumps(body), status=201, mimetype="application/json")
    response.headers["Location"] = location
    response.headers["ETag"] = etag_of(body)
    return response


def _replay(kept: IdempotencyKey, fingerprint: str) -> Response:
    if kept.fingerprint != fingerprint:
        raise ApiProblem(422, _("This Idempotency-Key was used for another request: use a new key for a new one."),
                         slug="idempotency-key-reused", errors=[field_error("Idempotency-Key", _("Already used."))])
    db.session.rollback()
    response = current_app.response_class(json.dumps(kept.body), status=kept.status, mimetype="application/json")
    response.headers["Location"] = kept.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.post("/tickets")
@api.validate(json=s.TicketIn, resp=answers(s.TicketOut, "HTTP_201", "HTTP_409"), tags=["tickets"])
def create_ticket():
    """Open a ticket with its first message.

    A council user opens it for their own council (the channel is then `web` and they are the requester).
    Send an `Idempotency-Key` header to make retrying safe."""
    body = body_of()

    def create() -> tuple[dict, str]:
        data = TicketData(subject=body.subject, body=body.body, channel=Channel(body.channel),
                          category=Category(body.category), priority=Priority(body.priority),
                          council_id=body.council_id, instance_id=body.instance_id,
                          requester_contact_id=body.requester_contact_id, requester_name=body.requester_name,
                          requester_email=body.requester_email, requester_phone=body.requester_phone,
                          attachments=uploads_of(body.attachments))
        ticket = open_ticket(viewer(), data, utcnow())
        return show_ticket(ticket), representations.api_url(f"/tickets/{ticket.id}")

    return idempotent(create)


def _if_match(current: dict) -> None:
    """A change sent with ``If-Match`` applies only to the record as the client last read it."""
    if not request.if_match:
        return
    if request.if_match.star_tag:
        return
    if etag_of(current) not in [f'"{item}"' for item in request.if_match.as_set()]:
        raise ApiProblem(412, _("The record changed since you read it (its ETag is not the one sent in "
                                "If-Match). Nothing was saved: read it again and retry."), slug="stale")


@bp.patch("/tickets/<int:number>")
@api.validate(json=s.TicketPatch, resp=answers(s.TicketOut, "HTTP_200", "HTTP_409", "HTTP_412"), tags=["tickets"])
def change_ticket(number: int):
    """Change a ticket's fields or status (only the fields sent change).

    Send the ETag you read in `If-Match`: a ticket someone changed meanwhile is refused with 412. Council
    users may only close a ticket they asked for (`{"status": "closed"}`)."""
    body, user = body_of(), viewer()
    ticket = visible_ticket(number)
    _if_match(show_ticket(ticket))
    sent = set(body.model_fields_set)
    for name in ("subject", "status", "priority", "category"):
        if name in sent and getattr(body, name) is None:
            raise ApiProblem(422, _("Some values are missing or not valid: nothing was changed."),
                             slug="invalid-request", errors=[field_error(f"/{name}", _("This field cannot be null."))])
    now = utcnow()

    def change() -> None:
        if not sent:
            return
        if sent == {"status"}:
            if body.status != ticket.status.value:
                change_status(user, ticket, TicketStatus(body.status), now)
        elif sent == {"assignee_id"} and user.is_staff:
            assign(user, ticket, body.assignee_id, now)
        else:
            values = dict(subject=ticket.subject, status=ticket.status, priority=ticket.priority,
                          category=ticket.category, council_id=ticket.council_id, instance_id=ticket.instance_id,
                          assignee_id=ticket.assignee_id, requester_name=ticket.requester_name,
                          requester_email=ticket.requester_email or "", requester_phone=ticket.requester_phone or "")
            for name in sent:
                value = getattr(body, name)
                values[name] = {"status": TicketStatus, "priority": Priority, "category": Category}.get(
                    name, lambda item: item if item is not None or name.endswith("_id") else "")(value)
            update_ticket(user, ticket, TicketChanges(**values), now, expected_version=ticket.version)

    run_change(change)
    db.session.commit()
    return read_answer(show_ticket(visible_ticket(number)))


# --- messages and attachments -------------------------------------------------------------------------------

def visible_messages(user: User):
    statement = select(Message).join(Ticket, Message.ticket_id == Ticket.id).where(Ticket.visible_to(user))
    if not user.is_staff:
        statement = statement.where(Message.kind.in_(COUNCIL_VISIBLE_KINDS), Message.deleted_at.is_(None))
    return statement


def show_message(message: Message) -> dict:
    return representations.message(message, viewer())


@bp.get("/tickets/<int:number>/messages")
@api.validate(query=s.Page, resp=answers(s.MessagePage, "HTTP_200", "HTTP_304"), tags=["messages"])
def list_messages(number: int):
    """A ticket's thread, oldest first (council users see what was exchanged with them, not notes)."""
    visible_ticket(number)
    query = query_of()
    rows, next_cursor = paging.page(visible_messages(viewer()).where(Message.ticket_id == number),
                                    f"messages{number}", by_id(Message.id), query.cursor, query.limit)
    return listing(rows, show_message, next_cursor)


def _add(number: int, kind: MessageKind, body: Any, new_status: TicketStatus | None = None) -> Response:
    visible_ticket(number)

    def create() -> tuple[dict, str]:
        message = add_message(viewer(), visible_ticket(number), kind, body.body, utcnow(), uploads_of(body.attachments),
                              new_status=new_status)
        return show_message(message), representations.api_url(f"/messages/{message.id}")

    return idempotent(create)


@bp.post("/tickets/<int:number>/messages")
@api.validate(json=s.MessageIn, resp=answers(s.MessageOut, "HTTP_201", "HTTP_409"), tags=["messages"])
def reply(number: int):
    """Write on a ticket: a reply to the requester (staff, sent by e-mail) or, from a council user, a message
    of the requester. Files go in `attachments` (base64). `Idempotency-Key` makes retrying safe."""
    body, user = body_of(), viewer()
    if user.is_staff:
        return _add(number, MessageKind.REPLY, body, TicketStatus(body.then) if body.then else None)
    if body.then:
        raise ApiProblem(403, _("Only the support team changes a ticket's status."), slug="not-allowed")
    return _add(number, MessageKind.INBOUND, body)


@bp.post("/tickets/<int:number>/notes")
@api.validate(json=s.NoteIn, resp=answers(s.MessageOut, "HTTP_201", "HTTP_409"), tags=["messages"])
def note(number: int):
    """Add an internal note (staff only; councils never see it)."""
    if not viewer().is_staff:
        raise ApiProblem(403, _("Only the support team can do this."), slug="not-allowed")
    return _add(number, MessageKind.NOTE, body_of())


@bp.get("/messages/<int:message_id>")
@api.validate(resp=answers(s.MessageOut, "HTTP_200", "HTTP_304"), tags=["messages"])
def get_message(message_id: int):
    """Read a message with its files."""
    return read_answer(show_message(found(visible_messages(viewer()).where(Message.id == message_id))))


def visible_attachment(attachment_id: int) -> Attachment:
    messages = visible_messages(viewer()).where(Message.deleted_at.is_(None)).with_only_columns(Message.id)
    return found(select(Attachment).where(Attachment.id == attachment_id, Attachment.message_id.in_(messages)))


@bp.get("/attachments/<int:attachment_id>")
@api.validate(resp=answers(s.AttachmentOut, "HTTP_200", "HTTP_304"), tags=["messages"])
def get_attachment(attachment_id: int):
    """Read a file's name, type, size and SHA-256."""
    return read_answer(representations.attachment(visible_attachment(attachment_id)))


@bp.get("/attachments/<int:attachment_id>/content")
@api.validate(resp=answers(None, "HTTP_200"), tags=["messages"])
def download_attachment(attachment_id: int):
    """Download a file's bytes (never served as a page a browser would run)."""
    item = visible_attachment(attachment_id)
    known = item.content_type in INLINE_TYPES or item.content_type in DOWNLOAD_TYPES
    # Read whole (at most ATTACHMENT_MAX_BYTES): Spectree reads every answer's body to check it anyway.
    data = blob_store().path(item.sha256).read_bytes()
    response = send_file(io.BytesIO(data), mimetype=item.content_type if known
                         else "application/octet-stream", as_attachment=True, download_name=item.filename,
                         conditional=True, etag=item.sha256, max_age=0)
    response.direct_passthrough = False  # bytes in memory: let Spectree read them
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-cache"
    return response


# --- councils, contacts, instances -------------------------------------------------------------------------------

@bp.get("/councils")
@api.validate(query=s.CouncilListQuery, resp=answers(s.CouncilPage, "HTTP_200", "HTTP_304"), tags=["councils"])
def list_councils():
    """List the councils (a council user: their own)."""
    query = query_of()
    statement = select(Council).where(Council.visible_to(viewer()))
    if query.q:
        statement = statement.where(Council.name.icontains(query.q, autoescape=True))
    rows, next_cursor = paging.page(statement, "councils", by_id(Council.id), query.cursor, query.limit)
    return listing(rows, lambda item: representations.council(item, viewer()), next_cursor)


def visible_council(council_id: int) -> Council:
    return found(select(Council).where(Council.id == council_id, Council.visible_to(viewer())))


@bp.get("/councils/<int:council_id>")
@api.validate(resp=answers(s.CouncilOut, "HTTP_200", "HTTP_304"), tags=["councils"])
def get_council(council_id: int):
    """Read a council."""
    return read_answer(representations.council(visible_council(council_id), viewer()))


@bp.get("/councils/<int:council_id>/contacts")
@api.validate(query=s.Page, resp=answers(s.ContactPage, "HTTP_200", "HTTP_304"), tags=["councils"])
def list_contacts(council_id: int):
    """A council's contacts (its municipal technical referent among them)."""
    visible_council(council_id)
    query = query_of()
    rows, next_cursor = paging.page(select(Contact).where(Contact.council_id == council_id),
                                    f"contacts{council_id}", by_id(Contact.id), query.cursor, query.limit)
    return listing(rows, lambda item: representations.contact(item, viewer()), next_cursor)


@bp.get("/contacts/<int:contact_id>")
@api.validate(resp=answers(s.ContactOut, "HTTP_200", "HTTP_304"), tags=["councils"])
def get_contact(contact_id: int):
    """Read a contact."""
    contact = found(select(Contact).join(Council).where(Contact.id == contact_id, Council.visible_to(viewer())))
    return read_answer(representations.contact(contact, viewer()))


@bp.get("/instances")
@api.validate(query=s.InstanceListQuery, resp=answers(s.InstancePage, "HTTP_200", "HTTP_304"), tags=["instances"])
def list_instances():
    """List the platform instances with their health (a council user: their council's)."""
    query = query_of()
    statement = select(PlatformInstance).where(PlatformInstance.visible_to(viewer()))
    if query.council:
        statement = statement.where(PlatformInstance.council_id == query.council)
    if query.health:
        statement = statement.where(PlatformInstance.health == query.health)
    rows, next_cursor = paging.page(statement, "instances", by_id(PlatformInstance.id), query.cursor, query.limit)
    return listing(rows, lambda item: representations.instance(item, viewer()), next_cursor)


@bp.get("/instances/<int:instance_id>")
@api.validate(resp=answers(s.InstanceOut, "HTTP_200", "HTTP_304"), tags=["instances"])
def get_instance(instance_id: int):
    """Read a platform instance and its health as the monitor last saw it."""
    instance = found(select(PlatformInstance).where(PlatformInstance.id == instance_id,
                                                    PlatformInstance.visible_to(viewer())))
    return read_answer(representations.instance(instance, viewer()))


# --- catalogue, accompaniment --------------------------------------------------------------------------------------

@bp.get("/catalogue-requests")
@api.validate(query=s.CouncilFilter, resp=answers(s.CatalogueRequestPage, "HTTP_200", "HTTP_304"),
              tags=["catalogue"])
def list_catalogue_requests():
    """List catalogue requests (a council user: their council's)."""
    query = query_of()
    statement = select(CatalogRequest).where(CatalogRequest.visible_to(viewer()))
    if query.council:
        statement = statement.where(CatalogRequest.council_id == query.council)
    rows, next_cursor = paging.page(statement, "catalogue-requests", by_id(CatalogRequest.id), query.cursor,
                                    query.limit)
    return listing(rows, lambda item: representations.catalogue_request(item, viewer()), next_cursor)


@bp.get("/catalogue-requests/<int:request_id>")
@api.validate(resp=answers(s.CatalogueRequestOut, "HTTP_200", "HTTP_304"), tags=["catalogue"])
def get_catalogue_request(request_id: int):
    """Read a catalogue request."""
    found_request = found(select(CatalogRequest).where(CatalogRequest.id == request_id,
                                                       CatalogRequest.visible_to(viewer())))
    return read_answer(representations.catalogue_request(found_request, viewer()))


@bp.get("/grants")
@api.validate(query=s.CouncilFilter, resp=answers(s.GrantPage, "HTTP_200", "HTTP_304"), tags=["catalogue"])
def list_grants():
    """List grants (a council user: their council's)."""
    query = query_of()
    statement = select(Grant).where(Grant.visible_to(viewer()))
    if query.council:
        statement = statement.where(Grant.council_id == query.council)
    rows, next_cursor = paging.page(statement, "grants", by_id(Grant.id), query.cursor, query.limit)
    return listing(rows, lambda item: representations.grant(item, viewer()), next_cursor)


@bp.get("/grants/<int:grant_id>")
@api.validate(resp=answers(s.GrantOut, "HTTP_200", "HTTP_304"), tags=["catalogue"])
def get_grant(grant_id: int):
    """Read a grant."""
    grant = found(select(Grant).where(Grant.id == grant_id, Grant.visible_to(viewer())))
    return read_answer(representations.grant(grant, viewer()))


def visible_sessions():
    return (select(AccompanimentSession).join(AccompanimentRequest)
            .where(AccompanimentRequest.visible_to(viewer())))


@bp.get("/accompaniment-sessions")
@api.validate(query=s.CouncilFilter, resp=answers(s.SessionPage, "HTTP_200", "HTTP_304"), tags=["accompaniment"])
def list_sessions():
    """List accompaniment sessions (a council user: their council's)."""
    query = query_of()
    statement = visible_sessions()
    if query.council:
        statement = statement.where(AccompanimentRequest.council_id == query.council)
    rows, next_cursor = paging.page(statement, "sessions", by_id(AccompanimentSession.id), query.cursor,
                                    query.limit)
    return listing(rows, lambda item: representations.accompaniment_session(item, viewer()), next_cursor)


@bp.get("/accompaniment-sessions/<int:session_id>")
@api.validate(resp=answers(s.SessionOut, "HTTP_200", "HTTP_304"), tags=["accompaniment"])
def get_session(session_id: int):
    """Read an accompaniment session."""
    found_session = found(visible_sessions().where(AccompanimentSession.id == session_id))
    return read_answer(representations.accompaniment_session(found_session, viewer()))


# --- the audit trail ---------------------------------------------------------------------------------------------

AUDITED_RECORDS: dict[str, Callable[[int, User], Any]] = {
    "ticket": lambda id_, user: select(Ticket).where(Ticket.id == id_, Ticket.visible_to(user)),
    "council": lambda id_, user: select(Council).where(Council.id == id_, Council.visible_to(user)),
    "contact": lambda id_, user: select(Contact).join(Council).where(Contact.id == id_, Council.visible_to(user)),
    "instance": lambda id_, user: select(PlatformInstance).where(PlatformInstance.id == id_,
                                                                 PlatformInstance.visible_to(user)),
    "catalogue_request": lambda id_, user: select(CatalogRequest).where(CatalogRequest.id == id_,
                                                                        CatalogRequest.visible_to(user)),
    "grant": lambda id_, user: select(Grant).where(Grant.id == id_, Grant.visible_to(user)),
    "accompaniment_session": lambda id_, user: visible_sessions().where(AccompanimentSession.id == id_),
}


@bp.get("/audit-events")
@api.validate(query=s.AuditQuery, resp=answers(s.AuditPage, "HTTP_200", "HTTP_304"), tags=["audit"])
def list_audit_events():
    """The audit trail of one record, the newest first (staff only, as on the screens)."""
    query, user = query_of(), viewer()
    if not user.is_staff:
        raise ApiProblem(403, _("Only the support team can do this."), slug="not-allowed")
    record = found(AUDITED_RECORDS[query.object_type](query.object_id, user))
    statement = select(audit.AuditEvent).where(audit.AuditEvent.object_type == record.__tablename__,
                                               audit.AuditEvent.object_id == record.id)
    rows, next_cursor = paging.page(statement, f"audit{record.__tablename__}{record.id}",
                                    [(Key(audit.AuditEvent.id, True), "id")], query.cursor, query.limit)
    return listing(rows, lambda event: representations.audit_event(event, user), next_cursor)


from helpdesk.api import docs  # noqa: E402,F401  (the OpenAPI document and its page, on this blueprint)
