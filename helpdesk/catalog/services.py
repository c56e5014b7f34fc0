"""The Service Catalogue's rules: filing a request, moving it through its states, granting it (a grant
of two years on the council's instance), renewing grants, reminding before they end, and letting
them lapse. Services flush and audit; the caller commits; e-mail goes through the outbox."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from blinker import Namespace
from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from helpdesk.auth.models import Role, User
from helpdesk.catalog import mail
from helpdesk.catalog.models import (
    LANGUAGES,
    TEXT_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    CatalogCall,
    CatalogRequest,
    Grant,
    RenewalReminder,
    Resource,
)
from helpdesk.catalog.states import (
    COUNCIL,
    LIVE_GRANT_STATUSES,
    MANAGER,
    OPEN_STATUSES,
    TRANSITIONS,
    GrantStatus,
    ProjectKind,
    RequestKind,
    RequestStatus,
)
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed, Problems
from helpdesk.councils.models import Contact, Council
from helpdesk.councils.services import ContactData, save_contact
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.instances.services import InstanceData, change_instance_status, create_instance, normalise_base_url
from helpdesk.instances.states import InstanceStatus
from helpdesk.tickets.services import TicketData, open_ticket, ticket_status_changed
from helpdesk.tickets.states import Category, Channel, MessageKind, Priority, TicketStatus

GRANT_YEARS = 2
FILERS = frozenset({Role.ADMIN, Role.AGENT, Role.CATALOGUE_MANAGER})  # staff who file on a council's behalf
# Who keep the calls and resources: setting up the catalogue, which administrators may do too. Deciding
# requests is another rule, stated once: ``CatalogRequest.can_decide``.
KEEPERS = frozenset({Role.ADMIN, Role.CATALOGUE_MANAGER})
_signals = Namespace()
#: Sent once a request was granted or refused (sender: the request; grant (None when refused), actor, now):
#: webhooks listen.
catalogue_request_decided = _signals.signal("catalogue-request-decided")
#: Sent when a renewal reminder goes out for a grant nearing its end (sender: the grant; days_before, actor
#: (None: the job), now): webhooks listen.
grant_expiring = _signals.signal("grant-expiring")


class GrantHeld(DomainError):
    """The instance already has a live grant: the council renews it instead of asking for the platform again."""

    def __init__(self, message, record: Grant, renewable: bool) -> None:
        super().__init__(message, "instance_id")
        self.grant_id, self.host, self.renewable = record.id, record.instance.host, renewable


def _gather(problems: list[DomainError], check, *args):
    """Run one check, keeping its refusal among ``problems`` rather than stopping at it."""
    try:
        return check(*args)
    except DomainError as problem:
        problems.append(problem)
        return None


@dataclass
class RequestData:
    project_kind: str = ""
    project_title: str = ""
    project_description: str = ""
    project_starts_on: date | None = None
    referent_contact_id: int | None = None
    new_referent: ContactData | None = None  # instead of an existing contact
    instance_id: int | None = None  # the council's existing instance…
    desired_host: str = ""  # …or the address wanted for a new one
    languages: list[str] = field(default_factory=list)
    accepts_terms: bool = False


def today_in_madrid(now: datetime) -> date:
    return now.astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


def grant_end(start: date) -> date:
    """Two years on: 29 February 2028 ends on 28 February 2030."""
    return start + relativedelta(years=GRANT_YEARS)


def default_resource() -> Resource:
    return db.session.scalar(select(Resource).where(Resource.is_active).order_by(Resource.id))


def call_for(year: int) -> CatalogCall | None:
    return db.session.scalar(select(CatalogCall).where(CatalogCall.year == year))


def _may_file(actor: User | None, council: Council) -> None:
    if actor is None:
        return
    if actor.is_staff and actor.role not in FILERS:
        raise NotAllowed(_l("Only agents and catalogue managers file requests on a council's behalf."))
    if not actor.is_staff and actor.council_id != council.id:
        raise NotAllowed(_l("You can only file requests for your own council."))


def _require_open_call(today: date) -> CatalogCall:
    """The call open today (a call named for its opening year may run into the next one)."""
    call = db.session.scalar(select(CatalogCall).where(CatalogCall.opens_on <= today, CatalogCall.closes_on >= today)
                             .order_by(CatalogCall.year.desc()))
    if call is not None:
        return call
    upcoming = db.session.scalar(select(CatalogCall).where(CatalogCall.opens_on > today)
                                 .order_by(CatalogCall.opens_on))
    if upcoming is not None:
        raise DomainError(_l("The Service Catalogue call is closed. The next one opens on %(when)s.",
                             when=format_date(upcoming.opens_on, "long")))
    raise DomainError(_l("The Service Catalogue call is closed, and the next one has not been announced yet."))


def _require_single(council: Council, resource: Resource, year: int, request: CatalogRequest | None) -> None:
    other = db.session.scalar(select(CatalogRequest).where(
        CatalogRequest.council_id == council.id, CatalogRequest.resource_id == resource.id,
        CatalogRequest.year == year, CatalogRequest.kind == RequestKind.NEW,
        CatalogRequest.status.in_(OPEN_STATUSES)))
    if other is not None and other is not request:
        raise DomainError(_l("%(council)s already has request %(reference)s open for this year: carry on with "
                             "that one.", council=council.name, reference=other.reference))


def normalise_host(raw: str) -> str:
    """The address wanted for a new instance: a host under the province's domain (participa.vic.diba.cat)."""
    domain = current_app.config["CATALOG_INSTANCE_DOMAIN"]
    text = raw.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
    try:
        host = normalise_base_url(text).removeprefix("https://")
    except DomainError:
        raise DomainError(_l("“%(value)s” is not a valid web address.", value=raw.strip()), "desired_host") from None
    if not host.endswith("." + domain) or host.count(".") < domain.count(".") + 1 or ":" in host:
        raise DomainError(_l("The address must end in .%(domain)s, such as participa-vic.%(domain)s.",
                             domain=domain), "desired_host")
    return host


def _check_host_free(host: str, request: CatalogRequest | None) -> None:
    if db.session.scalar(select(PlatformInstance.id).where(PlatformInstance.base_url == f"https://{host}")):
        raise DomainError(_l("%(host)s is already taken.", host=host), "desired_host")
    other = db.session.scalar(select(CatalogRequest).where(
        CatalogRequest.desired_host == host, CatalogRequest.status.in_(OPEN_STATUSES - {RequestStatus.DRAFT})))
    if other is not None and other is not request:
        raise DomainError(_l("%(host)s is already asked for by another request.", host=host), "desired_host")


def _fill(actor: User | None, request: CatalogRequest, data: RequestData, problems: list[DomainError]) -> None:
    """Copy what the form says, keeping a problem for each value not of the right form (completeness is
    checked on filing); a value refused is left as it was."""
    council = request.council
    try:
        request.project_kind = ProjectKind(data.project_kind) if data.project_kind else None
    except ValueError:
        problems.append(DomainError(_l("Unknown value “%(value)s”.", value=data.project_kind), "project_kind"))
    title = " ".join(data.project_title.split())
    if len(title) > TITLE_MAX_LENGTH:
        problems.append(DomainError(_l("At most %(count)d characters.", count=TITLE_MAX_LENGTH), "project_title"))
    else:
        request.project_title = title
    if len(data.project_description) > TEXT_MAX_LENGTH:
        problems.append(DomainError(_l("At most %(count)d characters.", count=TEXT_MAX_LENGTH),
                                    "project_description"))
    else:
        request.project_description = data.project_description.strip()
    request.project_starts_on = data.project_starts_on
    if data.new_referent is not None and data.new_referent.name.strip():
        try:
            referent = save_contact(None, council, ContactData(**{**data.new_referent.__dict__,
                                                                  "is_technical_referent": True}))
        except DomainError as problem:  # the contact's own fields are the form's referent_* fields
            problems.append(DomainError(problem.message, f"referent_{problem.field or 'name'}"))
        else:
            audit.record(actor, "created", referent, {"name": {"before": None, "after": referent.name}})
            request.referent_contact_id = referent.id
    elif data.referent_contact_id:
        contact = db.session.get(Contact, data.referent_contact_id)
        if contact is None or contact.council_id != council.id:
            problems.append(DomainError(_l("Choose one of %(council)s's contacts.", council=council.name),
                                        "referent_contact_id"))
        else:
            request.referent_contact_id = contact.id
    else:
        request.referent_contact_id = None
    if data.instance_id:
        instance = db.session.get(PlatformInstance, data.instance_id)
        if instance is None or instance.council_id != council.id:
            problems.append(DomainError(_l("Choose one of %(council)s's instances.", council=council.name),
                                        "instance_id"))
        else:
            request.instance_id, request.desired_host = instance.id, ""
    else:
        request.instance_id = None
        host = _gather(problems, normalise_host, data.desired_host) if data.desired_host.strip() else ""
        request.desired_host = host or ""
    unknown = [code for code in data.languages if code not in LANGUAGES]
    if unknown:
        problems.append(DomainError(_l("Unknown value “%(value)s”.", value=", ".join(unknown)), "languages"))
    else:
        request.languages = [code for code in LANGUAGES if code in data.languages]
    request.accepts_terms = bool(data.accepts_terms)


def save_request(actor: User | None, council: Council, data: RequestData, now: datetime,
                 request: CatalogRequest | None = None, *, renews: Grant | None = None) -> CatalogRequest:
    """Create a draft (or change one, or a request the managers asked more information about); every problem
    with what was given is refused at once (``Problems``), and then nothing is kept."""
    return _write(actor, council, data, now, request, renews)


def file_request(actor: User | None, council: Council, data: RequestData, now: datetime,
                 request: CatalogRequest | None = None, *, renews: Grant | None = None,
                 answer: str | None = None) -> CatalogRequest:
    """Save what the form says and file it (or, with the council's ``answer``, send it back to the managers):
    what is wrong with the values and every unmet requirement are refused together."""
    request = _write(actor, council, data, now, request, renews, filing=True, answer=answer)
    _file(actor, request, now, answer)
    return request


def _write(actor: User | None, council: Council, data: RequestData, now: datetime, request: CatalogRequest | None,
           renews: Grant | None, *, filing: bool = False, answer: str | None = None) -> CatalogRequest:
    _may_file(actor, council)
    today = today_in_madrid(now)
    problems: list[DomainError] = []
    if request is None:
        resource = renews.resource if renews is not None else default_resource()
        if resource is None:
            raise DomainError(_l("The catalogue has no resource to request."))
        year = today.year
        if renews is not None:
            _gather(problems, _require_renewable, renews, today)
        else:
            call = _gather(problems, _require_open_call, today)
            year = call.year if call is not None else year
            _gather(problems, _require_single, council, resource, year, None)
        # Not added to the session until every check has passed: a refused request leaves nothing behind.
        request = CatalogRequest(council=council, resource=resource, year=year, status=RequestStatus.DRAFT,
                                 kind=RequestKind.RENEWAL if renews else RequestKind.NEW, renews=renews,
                                 instance_id=renews.instance_id if renews else None,
                                 created_by_id=actor.id if actor else None)
        before = {}
    else:
        if request.status not in (RequestStatus.DRAFT, RequestStatus.NEEDS_INFORMATION):
            raise InvalidTransition(_l("Request %(reference)s is %(status)s: it can no longer be changed.",
                                       reference=request.reference, status=request.status.label.lower()))
        before = audit.snapshot(request, CatalogRequest.AUDITED)
    if filing:
        _require_move(actor, request, RequestStatus.SUBMITTED)
    _fill(actor, request, data, problems)
    if request.kind is RequestKind.RENEWAL:
        request.instance_id, request.desired_host = request.renews.instance_id, ""
    _gather(problems, _require_no_grant_held, request, today)
    if filing:
        problems += _filing_problems(request, today, answer, problems)
    Problems.raise_if_any(problems)
    db.session.add(request)
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(request, CatalogRequest.AUDITED))
    audit.record(actor, "updated" if before else "created", request, changes)
    return request


def _completeness(request: CatalogRequest, problems: list[DomainError]) -> None:
    """The grant's two requirements, and what the platform needs to be set up: a problem for each one unmet
    (none for a field already refused for its form)."""
    known = {problem.field for problem in problems}

    def missing(message, field: str) -> None:
        if field not in known:
            problems.append(DomainError(message, field))

    if request.project_kind is None:
        missing(_l("Requirement 1: say what kind of project the platform is for."), "project_kind")
    if not request.project_title:
        missing(_l("Requirement 1: give the project's title."), "project_title")
    if not request.project_description:
        missing(_l("Requirement 1: describe the project."), "project_description")
    if request.referent_contact_id is None:
        missing(_l("Requirement 2: name the municipal technical referent."), "referent_contact_id")
    elif not getattr(db.session.get(Contact, request.referent_contact_id), "email", None):
        missing(_l("The technical referent needs an e-mail address."), "referent_contact_id")
    if request.instance_id is None:
        if not request.desired_host:
            missing(_l("Give the address wanted for the new platform, or choose the council's existing one."),
                    "desired_host")
        elif "desired_host" not in known:
            _gather(problems, _check_host_free, request.desired_host, request)
    if not request.languages:
        missing(_l("Choose at least one language."), "languages")
    if not request.accepts_terms:
        missing(_l("Accept the platform's code of ethics and social contract to file the request."), "accepts_terms")


def _filing_problems(request: CatalogRequest, today: date, answer: str | None,
                     known: list[DomainError] = ()) -> list[DomainError]:
    """Everything that stops ``request`` being filed today (a draft from an earlier call joins the open one)."""
    problems = list(known)
    if request.status is RequestStatus.NEEDS_INFORMATION and not (answer or "").strip():
        problems.append(DomainError(_l("Answer the catalogue managers' question."), "answer"))
    _completeness(request, problems)
    if request.kind is RequestKind.NEW and request.status is RequestStatus.DRAFT:
        call = _gather(problems, _require_open_call, today)
        if call is not None:
            request.year = call.year
            _gather(problems, _require_single, request.council, request.resource, request.year, request)
    if request.kind is RequestKind.RENEWAL:
        _gather(problems, _require_renewable, request.renews, today, request)
    _gather(problems, _require_no_grant_held, request, today)
    return problems[len(known):]


def _require_no_grant_held(request: CatalogRequest, today: date) -> None:
    """A new-platform request is for an instance with no live grant and no other request for one: a second
    grant would overlap the first, so the council renews instead (told when its renewal opens)."""
    if request.kind is not RequestKind.NEW or request.instance_id is None:
        return
    held = live_grant(request.instance_id)
    if held is not None:
        host, end = held.instance.host, format_date(held.ends_on, "long")
        renewal = _renewal_under_way(held)
        if renewal is not None:
            raise GrantHeld(_l("%(host)s already has a grant until %(end)s, and its renewal %(reference)s is under "
                               "way.", host=host, end=end, reference=renewal.reference), held, False)
        if today < renewal_opens_on(held):
            raise GrantHeld(_l("%(host)s already has a grant until %(end)s. Its renewal opens on %(when)s: file "
                               "that then, not a new request.", host=host, end=end,
                               when=format_date(renewal_opens_on(held), "long")), held, False)
        raise GrantHeld(_l("%(host)s already has a grant until %(end)s: renew it instead of requesting a new "
                           "platform.", host=host, end=end), held, True)
    pending = db.session.scalar(select(CatalogRequest).where(
        CatalogRequest.instance_id == request.instance_id, CatalogRequest.kind == RequestKind.NEW,
        CatalogRequest.status.in_(OPEN_STATUSES - {RequestStatus.DRAFT}), CatalogRequest.id != request.id))
    if pending is not None:
        raise DomainError(_l("%(host)s is already asked for by request %(reference)s: carry on with that one.",
                             host=pending.instance.host, reference=pending.reference), "instance_id")


def live_grant(instance_id: int) -> Grant | None:
    """The instance's grant that still holds it (active or in its grace period), if any."""
    return db.session.scalar(select(Grant).where(Grant.instance_id == instance_id,
                                                 Grant.status.in_(LIVE_GRANT_STATUSES)).order_by(Grant.ends_on.desc()))


def _renewal_under_way(record: Grant, request: CatalogRequest | None = None) -> CatalogRequest | None:
    other = db.session.scalar(select(CatalogRequest).where(  # (a granted renewal has moved the end date on)
        CatalogRequest.renews_grant_id == record.id, CatalogRequest.status.in_(OPEN_STATUSES)))
    return other if other is not None and other is not request else None


def _require_move(actor: User | None, request: CatalogRequest, target: RequestStatus) -> None:
    """The state table allows the move, and the actor is one who makes it."""
    who = TRANSITIONS.get((request.status, target))
    if who is None:
        raise InvalidTransition(_l("A request that is %(current)s cannot become %(new)s.",
                                   current=request.status.label.lower(), new=target.label.lower()))
    if actor is not None:
        if who == MANAGER and not CatalogRequest.can_decide(actor):
            raise NotAllowed(_l("Only catalogue managers decide on catalogue requests."))
        if who == COUNCIL:
            _may_file(actor, request.council)


def _move(actor: User | None, request: CatalogRequest, target: RequestStatus, now: datetime,
          changes: dict | None = None) -> None:
    _require_move(actor, request, target)
    before = request.status
    request.status = target
    request.updated_at = now
    audit.record(actor, "status_changed", request,
                 {"status": {"before": before.value, "after": target.value}, **(changes or {})})
    _tell_referent(request)


def _file(actor: User | None, request: CatalogRequest, now: datetime, answer: str | None) -> None:
    _require_move(actor, request, RequestStatus.SUBMITTED)
    Problems.raise_if_any(_filing_problems(request, today_in_madrid(now), answer))
    changes = {}
    if answer is not None and answer.strip():
        request.council_answer = answer.strip()[:TEXT_MAX_LENGTH]
        changes = {"answer": {"before": None, "after": answer.strip()}}
    request.submitted_at = now
    _move(actor, request, RequestStatus.SUBMITTED, now, changes)


def submit(actor: User | None, request: CatalogRequest, now: datetime) -> None:
    """File a draft: every unmet requirement is refused at once."""
    _file(actor, request, now, None)


def start_review(actor: User | None, request: CatalogRequest, now: datetime) -> None:
    _move(actor, request, RequestStatus.UNDER_REVIEW, now)


def ask_information(actor: User | None, request: CatalogRequest, question: str, now: datetime) -> None:
    question = question.strip()
    if not question:
        raise DomainError(_l("Say what information is missing: the council sees it."), "message")
    request.manager_message, request.council_answer = question[:TEXT_MAX_LENGTH], ""
    _move(actor, request, RequestStatus.NEEDS_INFORMATION, now, {"message": {"before": None, "after": question}})


def answer(actor: User | None, request: CatalogRequest, text: str, now: datetime) -> None:
    """The council answers the managers' question and sends the request again."""
    _file(actor, request, now, text)


def withdraw(actor: User | None, request: CatalogRequest, now: datetime) -> None:
    _move(actor, request, RequestStatus.WITHDRAWN, now)


def refuse(actor: User | None, request: CatalogRequest, reason: str, now: datetime) -> None:
    reason = reason.strip()
    if not reason:
        raise DomainError(_l("Give the reason for refusing: the council sees it."), "message")
    request.manager_message, request.decided_at = reason[:TEXT_MAX_LENGTH], now
    _move(actor, request, RequestStatus.REFUSED, now, {"reason": {"before": None, "after": reason}})
    catalogue_request_decided.send(request, grant=None, actor=actor, now=now)


def grant(actor: User | None, request: CatalogRequest, now: datetime, message: str = "") -> Grant:
    """Grant a request: a new grant of two years (a new instance is provisioned), or a renewal that
    extends the grant it renews by two years from its previous end; no other grant is ever changed."""
    _require_move(actor, request, RequestStatus.GRANTED)
    # Checked again now: what was true on filing may have changed before the decision.
    problems: list[DomainError] = []
    _completeness(request, problems)
    _gather(problems, _require_no_grant_held, request, today_in_madrid(now))
    Problems.raise_if_any(problems)
    request.manager_message, request.decided_at = message.strip()[:TEXT_MAX_LENGTH], now
    _move(actor, request, RequestStatus.GRANTED, now)
    today = today_in_madrid(now)
    if request.kind is RequestKind.RENEWAL:
        renewed = _renew(actor, request.renews, request, today)
        catalogue_request_decided.send(request, grant=renewed, actor=actor, now=now)
        return renewed
    instance = request.instance
    if instance is None:
        instance = create_instance(None, request.council, InstanceData(base_url=request.desired_host))
        request.instance = instance
    elif instance.status is InstanceStatus.LAPSED:
        change_instance_status(None, instance, InstanceStatus.ACTIVE)
    record = Grant(council=request.council, resource=request.resource, instance=instance, request=request,
                   starts_on=today, ends_on=grant_end(today), status=GrantStatus.ACTIVE)
    db.session.add(record)
    db.session.flush()
    audit.record(actor, "created", record, audit.diff({}, audit.snapshot(record, Grant.AUDITED)))
    if instance.status is InstanceStatus.PROVISIONING:
        record.provisioning_ticket_id = _provisioning_ticket(request, instance, now).id
    catalogue_request_decided.send(request, grant=record, actor=actor, now=now)
    return record


def _renew(actor: User | None, record: Grant, request: CatalogRequest, today: date) -> Grant:
    before = audit.snapshot(record, Grant.AUDITED)
    record.ends_on = grant_end(record.ends_on)  # from the previous end: no gap, no overlap
    record.renewals += 1
    record.status, record.lapsed_on = GrantStatus.ACTIVE, None
    if record.instance.status is InstanceStatus.LAPSED:
        change_instance_status(None, record.instance, InstanceStatus.ACTIVE)
    audit.record(actor, "renewed", record, {**audit.diff(before, audit.snapshot(record, Grant.AUDITED)),
                                            "request": {"before": None, "after": request.reference}})
    return record


def renewal_opens_on(record: Grant) -> date:
    return record.ends_on - timedelta(days=current_app.config["CATALOG_RENEWAL_WINDOW_DAYS"])


def can_renew(record: Grant, today: date) -> bool:
    try:
        _require_renewable(record, today)
    except DomainError:
        return False
    return True


def _require_renewable(record: Grant, today: date, request: CatalogRequest | None = None) -> None:
    if record.status is GrantStatus.LAPSED:
        raise DomainError(_l("This grant has lapsed: file a new request in the next call."))
    if today < renewal_opens_on(record):
        raise DomainError(_l("Renewals open on %(when)s, %(days)d days before the grant ends.",
                             when=format_date(renewal_opens_on(record), "long"),
                             days=current_app.config["CATALOG_RENEWAL_WINDOW_DAYS"]))
    other = _renewal_under_way(record, request)
    if other is not None:
        raise DomainError(_l("The renewal %(reference)s is already under way.", reference=other.reference))


def renewal_prefill(record: Grant) -> RequestData:
    """A renewal starts from what the grant was given for: the council confirms or updates it."""
    source = db.session.scalar(select(CatalogRequest).where(
        (CatalogRequest.id == record.request_id) | (CatalogRequest.renews_grant_id == record.id),
        CatalogRequest.status == RequestStatus.GRANTED).order_by(CatalogRequest.id.desc()))
    return RequestData(project_kind=source.project_kind.value if source.project_kind else "",
                       project_title=source.project_title, project_description=source.project_description,
                       project_starts_on=source.project_starts_on, referent_contact_id=source.referent_contact_id,
                       instance_id=record.instance_id, languages=list(source.languages), accepts_terms=False)


# --- Provisioning -------------------------------------------------------------------------------------

def _provisioning_ticket(request: CatalogRequest, instance: PlatformInstance, now: datetime):
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        subject = _("Set up the platform %(host)s for %(council)s", host=instance.host, council=request.council.name)
        body = _("Request %(reference)s was granted. Set up the new platform at %(url)s (languages: %(languages)s) "
                 "and resolve this ticket when it is ready: the instance then becomes active and the technical "
                 "referent is told its address.", reference=request.reference, url=instance.base_url,
                 languages=", ".join(LANGUAGES[code] for code in request.languages))
    ticket = open_ticket(None, TicketData(subject=subject, body=body, channel=Channel.WEB, category=Category.CATALOGUE,
                                          priority=Priority.NORMAL, council_id=request.council_id,
                                          instance_id=instance.id), now, first_kind=MessageKind.NOTE)
    technicians = db.session.scalars(select(User.email).where(User.role == Role.TECHNICIAN, User.is_active)
                                     .order_by(User.id)).all()
    mail.order_provisioning(ticket, request, instance, list(technicians))
    return ticket


@ticket_status_changed.connect
def _provisioning_done(ticket, before: TicketStatus, after: TicketStatus, now: datetime, actor, **_) -> None:
    """Resolving a provisioning ticket makes the instance active and tells the referent its address."""
    if after not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return
    record = db.session.scalar(select(Grant).where(Grant.provisioning_ticket_id == ticket.id))
    if record is None or record.instance.status is not InstanceStatus.PROVISIONING:
        return
    change_instance_status(None, record.instance, InstanceStatus.ACTIVE)
    referent = record.request.referent
    if referent is not None and referent.email:
        mail.tell_platform_ready(record, referent)


# --- E-mail to the referent ---------------------------------------------------------------------------

def _tell_referent(request: CatalogRequest) -> None:
    referent = request.referent
    if referent is None or not referent.email or request.status is RequestStatus.DRAFT:
        return
    mail.tell_request_status(request, referent)


# --- Reminders, grace and lapse, one grant at a time (the scheduler's job in jobs.py walks the grants) --

@dataclass(frozen=True)
class Reminder:
    grant: Grant
    days_before: int
    recipients: tuple[str, ...]


def reminder_days() -> list[int]:
    return sorted({int(days) for days in current_app.config["CATALOG_REMINDER_DAYS"].replace(" ", "").split(",")})


def reminder_for(record: Grant, today: date, managers: tuple[str, ...]) -> Reminder | None:
    """The reminder one grant is due today: the nearest of 90, 30 and 7 days before its end that has been
    reached and not yet sent for this end date, to its referent and ``managers``; none once a renewal is
    filed or granted."""
    thresholds = reminder_days()
    days_left = (record.ends_on - today).days
    if record.status is not GrantStatus.ACTIVE or not 0 <= days_left <= max(thresholds):
        return None
    days_before = min(days for days in thresholds if days_left <= days)
    sent = db.session.scalar(select(RenewalReminder.id).where(
        RenewalReminder.grant_id == record.id, RenewalReminder.ends_on == record.ends_on,
        RenewalReminder.days_before == days_before))
    filed = db.session.scalar(select(func.count(CatalogRequest.id)).where(
        CatalogRequest.renews_grant_id == record.id,
        CatalogRequest.status.in_(OPEN_STATUSES - {RequestStatus.DRAFT})))
    if sent or filed:
        return None
    referent = _current_referent(record)
    recipients = tuple(dict.fromkeys(([referent.email] if referent and referent.email else []) + list(managers)))
    return Reminder(record, days_before, recipients)


def _current_referent(record: Grant) -> Contact | None:
    latest = db.session.scalar(select(CatalogRequest).where(
        (CatalogRequest.id == record.request_id) | (CatalogRequest.renews_grant_id == record.id),
        CatalogRequest.status == RequestStatus.GRANTED).order_by(CatalogRequest.id.desc()))
    return latest.referent if latest else None


def send_reminder(reminder: Reminder, now: datetime) -> None:
    """Send one renewal reminder and remember it, so that it goes once for the grant's end date."""
    record = reminder.grant
    db.session.add(RenewalReminder(grant_id=record.id, ends_on=record.ends_on, days_before=reminder.days_before,
                                   sent_at=now))
    if reminder.recipients:
        mail.remind_renewal(record, list(reminder.recipients), today_in_madrid(now))
    audit.record(None, "renewal_reminder", record, {"days_before": {"before": None,
                                                                     "after": reminder.days_before}})
    grant_expiring.send(record, days_before=reminder.days_before, actor=None, now=now)


def enter_grace(record: Grant, today: date) -> bool:
    """An active grant past its end enters the grace period; True when it did."""
    if record.status is not GrantStatus.ACTIVE or record.ends_on >= today:
        return False
    record.status = GrantStatus.GRACE
    audit.record(None, "grace_period", record, {"status": {"before": "active", "after": "grace"}})
    return True


def lapse(record: Grant, today: date) -> bool:
    """A grant past its grace period (CATALOG_GRACE_DAYS) lapses, with its instance; True when it did."""
    if record.status is not GrantStatus.GRACE or \
            record.ends_on >= today - timedelta(days=current_app.config["CATALOG_GRACE_DAYS"]):
        return False
    record.status, record.lapsed_on = GrantStatus.LAPSED, today
    audit.record(None, "lapsed", record, {"status": {"before": "grace", "after": "lapsed"}})
    if record.instance.status in (InstanceStatus.ACTIVE, InstanceStatus.SUSPENDED):
        change_instance_status(None, record.instance, InstanceStatus.LAPSED)
    return True
