"""The catalogue's screens: the council's portal and request form, the request page with its workflow,
the managers' lists (requests, grants ending, lapsed; CSV), calls and resources."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import select

from helpdesk.auth.access import roles_required, staff_required
from helpdesk.catalog import lists, services
from helpdesk.catalog.forms import CallForm, DecisionForm, RequestForm, ResourceForm
from helpdesk.catalog.models import LANGUAGES, CatalogCall, CatalogRequest, Grant, Resource
from helpdesk.catalog.states import LABELS, TRANSITIONS, GrantStatus, ProjectKind, RequestKind, RequestStatus
from helpdesk.core import audit, csvsafe
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.forms import id_argument, show_error
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.core.templating import describe_field
from helpdesk.core.validation import whole_number
from helpdesk.councils.models import Contact, Council
from helpdesk.councils.services import ContactData
from helpdesk.councils.views import council_choices, council_filed_for
from helpdesk.extensions import db
from helpdesk.instances.states import InstanceStatus
from helpdesk.instances.views import instance_section

bp = Blueprint("catalog", __name__, url_prefix="/catalog")
KEEPER_ROLES = tuple(services.KEEPERS)

describe_field("project_title", _l("Project title"))
describe_field("desired_host", _l("Address wanted"))
describe_field("ends_on", _l("Ends on"))
describe_field("starts_on", _l("Starts on"))
describe_field("request", _l("Request"))
describe_field("days_before", _l("Days before the end"))
describe_field("project_description", _l("What the project is about"))
describe_field("project_starts_on", _l("Expected start"))
describe_field("referent_contact_id", _l("Municipal technical referent"),
               resolve=lambda id_: getattr(db.session.get(Contact, id_), "name", None))
describe_field("status", _l("Status"),
               {**LABELS[RequestStatus], GrantStatus.GRACE: LABELS[GrantStatus][GrantStatus.GRACE]})
describe_field("project_kind", _l("Kind of project"), LABELS[ProjectKind])
describe_field("languages", _l("Languages"), LANGUAGES)
describe_field("accepts_terms", _l("Code of ethics and social contract"))
describe_field("renewals", _l("Renewals"))


def visible_request(request_id: int) -> CatalogRequest:
    return db.first_or_404(select(CatalogRequest).where(CatalogRequest.id == request_id,
                                                        CatalogRequest.visible_to(current_user)))


def visible_grant(grant_id: int) -> Grant:
    return db.first_or_404(select(Grant).where(Grant.id == grant_id, Grant.visible_to(current_user)))


@bp.get("/")
@login_required
def index():
    if current_user.is_staff:
        return redirect(url_for("catalog.requests"))
    council = db.get_or_404(Council, current_user.council_id)
    today = services.today_in_madrid(utcnow())
    mine = db.session.scalars(select(CatalogRequest).where(CatalogRequest.council_id == council.id)
                              .order_by(CatalogRequest.id.desc())).all()
    grants = db.session.scalars(select(Grant).where(Grant.council_id == council.id).order_by(Grant.ends_on)).all()
    return render_template("catalog/portal.html", council=council, requests=mine, grants=grants, today=today,
                           can_renew={item.id: services.can_renew(item, today) for item in grants},
                           renewal_opens_on=services.renewal_opens_on, call=services.call_for(today.year))


@bp.get("/requests")
@staff_required
def requests():
    year = id_argument(request.args, "year")
    status = request.args.get("status", "")
    query = lists.requests_query(year, status)
    if request.args.get("format") == "csv":
        return csvsafe.download("catalog-requests", lists.requests_csv_rows(db.session.scalars(query)))
    years = db.session.scalars(select(CatalogRequest.year).distinct().order_by(CatalogRequest.year.desc())).all()
    page = paginate(query, per_page=2 * current_app.config["PAGE_SIZE"])  # short rows: twice as many
    return render_template("catalog/requests.html", page=page,
                           year=year, status=status, years=years, statuses=list(RequestStatus))


@bp.get("/grants")
@staff_required
def grants():
    view = request.args.get("view", "ending")
    if view not in ("ending", "grace", "lapsed", "all"):
        view = "ending"
    days = max(1, min(id_argument(request.args, "days") or 90, 3650))
    today = services.today_in_madrid(utcnow())
    query = lists.grants_query(view, today, days)
    if request.args.get("format") == "csv":
        return csvsafe.download(f"catalog-grants-{view}", lists.grants_csv_rows(db.session.scalars(query)))
    # Grants ending on the same day keep one order from page to page.
    return render_template("catalog/grants.html", page=paginate(query.order_by(Grant.id)), view=view, days=days,
                           today=today)


def _council_choices(form: RequestForm, council: Council | None) -> None:
    form.council_id.choices = council_choices(council)
    if council is not None:
        form.referent_contact_id.choices = [("", "—")] + [(str(item.id), f"{item.name} · {item.email or '—'}")
                                                         for item in council.contacts]
        form.instance_id.choices = [("", _("A new platform"))] + [
            (str(item.id), item.host) for item in council.instances if item.status is not InstanceStatus.RETIRED]
    else:
        form.referent_contact_id.choices = [("", "—")]
        form.instance_id.choices = [("", _("A new platform"))]


def _given(field, empty=None):
    """What was typed in ``field``, or ``empty`` if the form refused it (the service then runs without it)."""
    return empty if field.errors or field.data is None else field.data


def _attempt(form, write):
    """Check the form, then run ``write`` (a service); commit only if both accept, and return its result.
    The service runs even when the form has refused some fields (their values left out, whatever it wrote
    rolled back after), so that one submit shows every problem next to its field, not one per try."""
    valid = form.validate_on_submit()
    if "csrf_token" in form.errors:
        return None
    refused = {name for name, field in form._fields.items() if field.errors}
    try:
        result = write()
    except DomainError as error:
        db.session.rollback()
        _show_refusals(form, error, refused)
        return None
    if not valid:
        db.session.rollback()
        return None
    db.session.commit()
    return result


def _show_refusals(form, error: DomainError, refused=frozenset()) -> None:
    """Each of a service's refusals next to its field, but none for a field the form itself refused."""
    for problem in getattr(error, "problems", [error]):
        if problem.field in refused:
            continue
        show_error(form, problem)
        if isinstance(problem, services.GrantHeld) and problem.renewable and hasattr(form, "renewal_offer"):
            form.renewal_offer = problem


def _data(form: RequestForm) -> services.RequestData:
    referent = None
    if _given(form.referent_name):
        referent = ContactData(form.referent_name.data, _given(form.referent_position, ""),
                               _given(form.referent_email, ""), _given(form.referent_phone, ""))
    contact_id, instance_id = _given(form.referent_contact_id, ""), _given(form.instance_id, "")
    return services.RequestData(
        project_kind=_given(form.project_kind, ""), project_title=_given(form.project_title, ""),
        project_description=_given(form.project_description, ""), project_starts_on=_given(form.project_starts_on),
        referent_contact_id=whole_number(contact_id), new_referent=referent, instance_id=whole_number(instance_id),
        desired_host=_given(form.desired_host, ""), languages=list(_given(form.languages, [])),
        accepts_terms=bool(form.accepts_terms.data))


def _prefill(form: RequestForm, data: services.RequestData) -> None:
    form.project_kind.data, form.project_title.data = data.project_kind, data.project_title
    form.project_description.data, form.project_starts_on.data = data.project_description, data.project_starts_on
    form.referent_contact_id.data = str(data.referent_contact_id or "")
    form.instance_id.data = str(data.instance_id or "")
    form.desired_host.data, form.languages.data = data.desired_host, data.languages
    form.accepts_terms.data = data.accepts_terms


def _save(form: RequestForm, council: Council, item: CatalogRequest | None, renews: Grant | None = None):
    """Save the draft and, when asked, file it; on refusals, the form again with each reason by its field and
    what was typed kept."""
    now = utcnow()
    if request.form.get("action") == "submit":
        saved = _attempt(form, lambda: services.file_request(current_user, council, _data(form), now, item,
                                                             renews=renews, answer=_given(form.answer, "")))
    else:
        saved = _attempt(form, lambda: services.save_request(current_user, council, _data(form), now, item,
                                                             renews=renews))
    if saved is None:
        return None
    item = saved
    if item.status is RequestStatus.DRAFT:
        flash(_("Draft %(reference)s saved: file it when it is complete.", reference=item.reference), "success")
    else:
        flash(_("Request %(reference)s filed. The technical referent will be told of each step by e-mail.",
                reference=item.reference), "success")
    return redirect(url_for("catalog.show", request_id=item.id))


@bp.route("/requests/new", methods=["GET", "POST"])
@login_required
def new():
    if current_user.is_staff and current_user.role not in services.FILERS:
        abort(403)
    council = council_filed_for()
    form = RequestForm()
    _council_choices(form, council)
    if council is not None and request.method == "GET":
        form.council_id.data = council.id
    if request.method == "POST" and council is None:
        form.validate()
        form.council_id.errors = [_("Choose the council the request is for.")]
    elif council is not None and request.form.get("action") in ("save", "submit"):
        response = _save(form, council, None)
        if response is not None:
            return response
    return render_template("catalog/request_form.html", form=form, council=council, item=None,
                           renews=None), 422 if form.errors else 200


@bp.route("/requests/<int:request_id>/edit", methods=["GET", "POST"])
@login_required
def edit(request_id: int):
    item = visible_request(request_id)
    form = RequestForm()
    _council_choices(form, item.council)
    if request.method == "GET":
        _prefill(form, services.RequestData(
            item.project_kind.value if item.project_kind else "", item.project_title, item.project_description,
            item.project_starts_on, item.referent_contact_id, None, item.instance_id, item.desired_host,
            list(item.languages), item.accepts_terms))
        form.council_id.data = item.council_id
    else:
        response = _save(form, item.council, item)
        if response is not None:
            return response
    return render_template("catalog/request_form.html", form=form, council=item.council, item=item,
                           renews=item.renews), 422 if form.errors else 200


@bp.route("/grants/<int:grant_id>/renew", methods=["GET", "POST"])
@login_required
def renew(grant_id: int):
    record = visible_grant(grant_id)
    if current_user.is_staff and current_user.role not in services.FILERS:
        abort(403)
    form = RequestForm()
    _council_choices(form, record.council)
    if request.method == "GET":
        _prefill(form, services.renewal_prefill(record))
        form.council_id.data = record.council_id
    else:
        response = _save(form, record.council, None, renews=record)
        if response is not None:
            return response
    return render_template("catalog/request_form.html", form=form, council=record.council, item=None,
                           renews=record), 422 if form.errors else 200


@bp.get("/requests/<int:request_id>")
@login_required
def show(request_id: int):
    item = visible_request(request_id)
    return _show(item)


def _show(item: CatalogRequest, form: DecisionForm | None = None, status: int = 200):
    moves = {target: who for (source, target), who in TRANSITIONS.items() if source is item.status}
    may_decide = CatalogRequest.can_decide(current_user)
    may_file = not current_user.is_staff or current_user.role in services.FILERS
    record = db.session.scalar(select(Grant).where((Grant.request_id == item.id) | (
        (Grant.id == item.renews_grant_id) if item.renews_grant_id else False)))
    return render_template("catalog/request.html", item=item, moves=moves, may_decide=may_decide,
                           may_file=may_file, form=form or DecisionForm(), grant=record,
                           trail=audit.trail(item) if current_user.is_staff else []), status


ACTIONS = {"review": services.start_review, "withdraw": services.withdraw, "submit": services.submit}


@bp.post("/requests/<int:request_id>/<any(review, withdraw, submit, ask, grant, refuse):action>")
@login_required
def act(request_id: int, action: str):
    item = visible_request(request_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        return _show(item, form, 422)
    now = utcnow()
    try:
        if action in ACTIONS:
            ACTIONS[action](current_user, item, now)
        elif action == "ask":
            services.ask_information(current_user, item, form.message.data or "", now)
        elif action == "refuse":
            services.refuse(current_user, item, form.message.data or "", now)
        else:
            services.grant(current_user, item, now, form.message.data or "")
    except DomainError as error:
        db.session.rollback()
        item = visible_request(request_id)
        _show_refusals(form, error)
        return _show(item, form, 403 if isinstance(error, NotAllowed) else 422)
    db.session.commit()
    flash(_("Request %(reference)s: %(status)s.", reference=item.reference, status=item.status.label.lower()),
          "success")
    return redirect(url_for("catalog.show", request_id=item.id))


@bp.get("/calls")
@roles_required(*KEEPER_ROLES)
def calls():
    items = db.session.scalars(select(CatalogCall).order_by(CatalogCall.year.desc())).all()
    resources = db.session.scalars(select(Resource).order_by(Resource.name)).all()
    return render_template("catalog/calls.html", calls=items, resources=resources,
                           today=services.today_in_madrid(utcnow()))


@bp.route("/calls/new", methods=["GET", "POST"], defaults={"call_id": None})
@bp.route("/calls/<int:call_id>", methods=["GET", "POST"])
@roles_required(*KEEPER_ROLES)
def call(call_id: int | None):
    item = db.get_or_404(CatalogCall, call_id) if call_id else None
    form = CallForm(obj=item) if request.method == "GET" and item else CallForm()
    if request.method == "POST":
        saved = _attempt(form, lambda: lists.save_call(current_user, _given(form.year), _given(form.opens_on),
                                                       _given(form.closes_on), item))
        if saved is not None:
            flash(_("Call %(year)d saved.", year=saved.year), "success")
            return redirect(url_for("catalog.calls"))
    return render_template("catalog/call.html", form=form, item=item,
                           trail=audit.trail(item) if item else []), 422 if form.errors else 200


@bp.route("/resources/<int:resource_id>", methods=["GET", "POST"])
@roles_required(*KEEPER_ROLES)
def resource(resource_id: int):
    item = db.get_or_404(Resource, resource_id)
    form = ResourceForm(obj=item) if request.method == "GET" else ResourceForm()
    if request.method == "GET":
        form.requirements.data = "\n".join(item.requirements)
    if request.method == "POST":
        saved = _attempt(form, lambda: lists.save_resource(
            current_user, item, _given(form.name, ""), _given(form.description, ""),
            _given(form.requirements, "").splitlines(), bool(form.is_active.data)))
        if saved is not None:
            flash(_("Resource “%(name)s” saved.", name=saved.name), "success")
            return redirect(url_for("catalog.calls"))
    return render_template("catalog/resource.html", form=form, item=item, trail=audit.trail(item)), \
        422 if form.errors else 200


@bp.app_context_processor
def catalog_labels():
    def grant_end(instance):
        """When the instance's current grant ends (what an instance card shows), or None."""
        return db.session.scalar(select(Grant.ends_on).where(
            Grant.instance_id == instance.id, Grant.status != GrantStatus.LAPSED).order_by(Grant.ends_on.desc()))
    def may_keep_catalogue(user) -> bool:
        return getattr(user, "role", None) in services.KEEPERS
    return {"catalog_labels": LABELS, "GrantStatus": GrantStatus, "RequestKind": RequestKind, "grant_end": grant_end,
            "may_keep_catalogue": may_keep_catalogue}


@instance_section
def _grant_section(instance, user):
    """The instance page shows its grant, its end date and the requests that led to it."""
    grants = db.session.scalars(select(Grant).where(Grant.instance_id == instance.id).order_by(Grant.ends_on)).all()
    requests = db.session.scalars(select(CatalogRequest).where(CatalogRequest.instance_id == instance.id,
                                                               CatalogRequest.visible_to(user))
                                  .order_by(CatalogRequest.id.desc())).all()
    return "catalog/_instance_section.html", {"grants": grants, "requests": requests}
