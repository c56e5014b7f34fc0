"""Platform instances: list, page, forms and status changes."""
from __future__ import annotations

from typing import Any, Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from helpdesk.auth.access import roles_required, staff_required
from helpdesk.auth.models import Role
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import ConfirmForm, id_argument, show_error
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.core.templating import ACTION_LABELS, describe_field
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.instances.forms import InstanceForm, ReleaseForm, StatusForm
from helpdesk.instances.models import API_ACCESS_LABELS, API_ACCESS_PROBLEMS, INSTANCE_EDITORS, KNOWN_MODULES, PlatformInstance
from helpdesk.instances.releases import STATE_LABELS, newest_in_line
from helpdesk.instances.releases import all_releases as release_list
from helpdesk.instances.releases import state as version_state
from helpdesk.instances.services import (CredentialsData, InstanceData, change_credentials, change_instance_status,
                                         create_instance, refresh_facts, save_release, update_instance)
from helpdesk.instances.states import ALLOWED_TRANSITIONS, STATUS_LABELS, InstanceStatus

bp = Blueprint("instances", __name__)
HEALTH_LABELS = {"up": _l("Answering"), "down": _l("Not answering"), "unknown": _l("Not checked yet")}
#: What the domains above add to an instance's page (its grant, its open tickets…): functions of the
#: instance and the user that return (template, context), or None to add nothing.
INSTANCE_SECTIONS: list[Callable[[PlatformInstance, Any], tuple[str, dict] | None]] = []


def instance_section(function):
    INSTANCE_SECTIONS.append(function)
    return function
EDITORS = tuple(INSTANCE_EDITORS)

describe_field("base_url", _l("Address"))
describe_field("decidim_version", _l("Decidim version"))
describe_field("enabled_modules", _l("Enabled modules"), KNOWN_MODULES)
describe_field("status", _l("Status"), STATUS_LABELS)
describe_field("api_key", _l("API key"))
describe_field("api_secret", _l("API secret"))
describe_field("api_credentials", _l("API credentials"))
describe_field("oauth_client_id", _l("OAuth client id"))
describe_field("oauth_client_secret", _l("OAuth client secret"))
describe_field("oauth_application", _l("OAuth application"))
ACTION_LABELS.setdefault("credentials_changed", _l("changed the API credentials or the OAuth application"))


@bp.get("/instances")
@staff_required
def index():
    query = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    statement = select(PlatformInstance).join(Council).order_by(Council.name, PlatformInstance.base_url)
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(or_(PlatformInstance.base_url.like(pattern), func.lower(Council.name).like(pattern)))
    if status in {item.value for item in InstanceStatus}:
        statement = statement.where(PlatformInstance.status == InstanceStatus(status))
    page = paginate(statement)
    return render_template("instances/index.html", page=page, query=query, status=status,
                           statuses=list(InstanceStatus))


def _council_choices():
    return [(id_, name) for id_, name in db.session.execute(select(Council.id, Council.name).order_by(Council.name))]


@bp.route("/instances/new", methods=["GET", "POST"])
@roles_required(*EDITORS)
def new():
    form = InstanceForm(council_id=id_argument(request.args, "council"))
    form.council_id.choices = _council_choices()
    form.describe_secrets(None)
    if form.validate_on_submit():
        council = db.get_or_404(Council, form.council_id.data)
        try:
            instance = create_instance(current_user, council, _instance_data(form))
            change_credentials(current_user, instance, _credentials_data(form))
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Instance %(url)s registered.", url=instance.base_url), "success")
            return redirect(url_for("instances.show", instance_id=instance.id))
    return render_template("instances/form.html", form=form, instance=None), 422 if form.errors else 200


def visible_instance(instance_id: int) -> PlatformInstance:
    return db.first_or_404(select(PlatformInstance).where(PlatformInstance.id == instance_id,
                                                          PlatformInstance.visible_to(current_user)))


@bp.app_context_processor
def instance_permissions():
    return {"can_register_instances": current_user.is_authenticated and current_user.role in INSTANCE_EDITORS}


@bp.get("/instances/<int:instance_id>")
@login_required
def show(instance_id: int):
    return _show(visible_instance(instance_id))


def _show(instance: PlatformInstance, status_form: StatusForm | None = None, status: int = 200):
    if status_form is None and instance.can_edit(current_user) and ALLOWED_TRANSITIONS[instance.status]:
        status_form = StatusForm()
    if status_form is not None:
        status_form.status.choices = [(item.value, item.label) for item in InstanceStatus
                                      if item in ALLOWED_TRANSITIONS[instance.status]]
    trail = audit.trail(instance) if current_user.is_staff else []
    sections = [section(instance, current_user) for section in INSTANCE_SECTIONS]
    return render_template("instances/show.html", instance=instance, status_form=status_form, trail=trail,
                           sections=[item for item in sections if item], refresh_form=ConfirmForm()), status


@bp.route("/instances/<int:instance_id>/edit", methods=["GET", "POST"])
@roles_required(*EDITORS)
def edit(instance_id: int):
    instance = visible_instance(instance_id)
    form = InstanceForm(obj=instance) if request.method == "GET" else InstanceForm()
    form.council_id.choices = [(instance.council_id, instance.council.name)]
    form.council_id.data = instance.council_id
    form.describe_secrets(instance)
    if form.validate_on_submit():
        try:
            update_instance(current_user, instance, _instance_data(form))
            change_credentials(current_user, instance, _credentials_data(form))
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Instance %(url)s saved.", url=instance.base_url), "success")
            return redirect(url_for("instances.show", instance_id=instance.id))
    return render_template("instances/form.html", form=form, instance=instance), 422 if form.errors else 200


@bp.post("/instances/<int:instance_id>/status")
@roles_required(*EDITORS)
def change_status(instance_id: int):
    instance = visible_instance(instance_id)
    form = StatusForm()
    form.status.choices = [(item.value, item.label) for item in InstanceStatus]
    if not form.validate_on_submit():
        return _show(instance, form, 422)
    try:
        change_instance_status(current_user, instance, form.status.data)
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        return _show(instance, form, 422)
    db.session.commit()
    flash(_("The instance is now %(status)s.", status=instance.status.label.lower()), "success")
    return redirect(url_for("instances.show", instance_id=instance.id))


def _instance_data(form: InstanceForm) -> InstanceData:
    return InstanceData(base_url=form.base_url.data, decidim_version=form.decidim_version.data or "",
                        enabled_modules=tuple(form.enabled_modules.data or ()), notes=form.notes.data or "")


def _credentials_data(form: InstanceForm) -> CredentialsData:
    return CredentialsData(
        api_key=form.api_key.data or "", api_secret=form.api_secret.data or "",
        remove_api=bool(form.remove_api_credentials and form.remove_api_credentials.data),
        oauth_client_id=form.oauth_client_id.data or "", oauth_client_secret=form.oauth_client_secret.data or "",
        remove_oauth=bool(form.remove_oauth_application and form.remove_oauth_application.data))


@bp.post("/instances/<int:instance_id>/refresh")
@staff_required
def refresh(instance_id: int):
    """Ask the platform now what it runs (the scheduler does it daily)."""
    instance = visible_instance(instance_id)
    if not ConfirmForm().validate_on_submit():  # the CSRF token
        abort(400)
    worked = refresh_facts(instance, utcnow())
    db.session.commit()
    if worked:
        flash(_("Refreshed: the platform answered."), "success")
    elif instance.api_access in API_ACCESS_PROBLEMS:
        flash(str(API_ACCESS_LABELS[instance.api_access]), "error")
    else:
        flash(_("The platform could not be read: %(error)s", error=instance.facts_error), "error")
    return redirect(url_for("instances.show", instance_id=instance.id))


@bp.route("/instances/releases", methods=["GET", "POST"])
@staff_required
def releases():
    """The Decidim releases the desk knows (administrators add them and mark which lines upstream supports)."""
    form = ReleaseForm()
    if request.method == "POST":
        if current_user.role is not Role.ADMIN:
            abort(403)
        if form.validate_on_submit():
            try:
                save_release(current_user, form.version.data, form.released_on.data, form.supported.data,
                             form.notes.data or "")
            except DomainError as error:
                db.session.rollback()
                show_error(form, error)
            else:
                db.session.commit()
                flash(_("Release %(version)s saved.", version=form.version.data), "success")
                return redirect(url_for("instances.releases"))
    return render_template("instances/releases.html", releases=release_list(), form=form), \
        422 if form.errors else 200


@bp.get("/instances/upgrades")
@staff_required
def upgrades():
    """The active instances that are behind or on a Decidim line upstream no longer supports."""
    known = release_list()
    rows = []
    for instance in db.session.scalars(select(PlatformInstance).join(Council).where(
            PlatformInstance.status.in_([InstanceStatus.ACTIVE, InstanceStatus.SUSPENDED])).order_by(Council.name)):
        state = version_state(instance.decidim_version, known)
        if state != "current":
            rows.append((instance, state, newest_in_line(instance.decidim_version, known)
                         if instance.decidim_version else None))
    newest = known[0].version if known else None
    return render_template("instances/upgrades.html", rows=rows, newest=newest, labels=STATE_LABELS)


@bp.app_context_processor
def instance_helpers():
    def version_of(instance):
        return version_state(instance.decidim_version, release_list())
    return {"version_state": version_of, "version_labels": STATE_LABELS, "health_labels": HEALTH_LABELS,
            "api_access_labels": API_ACCESS_LABELS, "api_access_problems": API_ACCESS_PROBLEMS}
