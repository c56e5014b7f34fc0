"""The platform status: the council's page (its instances now, their Decidim, 90 days of availability,
outages, planned maintenance), the technicians' maintenance screens, and the link that stops the notices."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from sqlalchemy import func, select

from helpdesk.auth.access import roles_required, staff_required
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import ConfirmForm, show_error
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.core.templating import ACTION_LABELS, describe_field
from helpdesk.councils.models import Contact, Council
from helpdesk.extensions import csrf, db
from helpdesk.instances.maintenance import MaintenanceWindow, maintenance_instances
from helpdesk.instances.models import Outage, PlatformInstance
from helpdesk.instances.releases import STATE_LABELS, all_releases
from helpdesk.instances.states import InstanceStatus
from helpdesk.instances.views import instance_section
from helpdesk.status import mail
from helpdesk.status.forms import MaintenanceForm, NoticesForm
from helpdesk.status.services import (PLANNABLE, PLANNERS, MaintenanceData, cancel_maintenance, council_windows,
                                      platform_state, schedule_maintenance, update_maintenance)

bp = Blueprint("status", __name__)
PLANNER_ROLES = tuple(PLANNERS)
STATE_NAMES = {"up": _l("Up"), "down": _l("Down"), "maintenance": _l("In maintenance"), "unknown": _l("Unknown"),
               "provisioning": _l("Being set up"), "suspended": _l("Suspended"), "lapsed": _l("Lapsed"),
               "retired": _l("Retired")}
LEVEL_NAMES = {"good": _l("all checks answered"), "degraded": _l("some checks failed"),
               "bad": _l("many checks failed"), "none": _l("no checks")}
LISTS = ("upcoming", "past", "cancelled")

describe_field("receives_platform_notices", _l("E-mail about the platform"))
describe_field("starts_at", _l("Starts"))
describe_field("ends_at", _l("Ends"))
describe_field("reason", _l("Reason"))
describe_field("instances", _l("Instances"))
ACTION_LABELS.setdefault("cancelled", _l("cancelled"))


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


@bp.app_template_filter("duration")
def duration(minutes: int | float) -> str:
    """A length of time as people say it: 47 minutes, 2 h 5 min, 3 d 4 h."""
    minutes = max(0, int(round(minutes)))
    if minutes < 60:
        return ngettext("%(num)d minute", "%(num)d minutes", minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=rest)
    days, hours = divmod(hours, 24)
    return _("%(days)d d %(hours)d h", days=days, hours=hours)


@bp.app_context_processor
def status_helpers():
    def named_page_url(name: str, number: int) -> str:
        """This page's address with list ``name`` at page ``number`` (the other lists' pages kept)."""
        pairs = [(key, value) for key, value in request.args.items(multi=True) if key != name]
        return url_for(request.endpoint, **(request.view_args or {})) + "?" + urlencode([*pairs, (name, number)])
    return {"named_page_url": named_page_url, "can_plan_maintenance":
            current_user.is_authenticated and current_user.role in PLANNERS}


# --- the council's page --------------------------------------------------------------------------------

@bp.get("/status")
@login_required
def mine():
    """A council user's own status page; staff land on every instance's health."""
    if current_user.is_staff:
        return redirect(url_for("tickets.instance_status"))
    if current_user.council_id is None:
        abort(404)
    return redirect(url_for("status.council", council_id=current_user.council_id))


def _visible_council(council_id: int) -> Council:
    return db.first_or_404(select(Council).where(Council.id == council_id, Council.visible_to(current_user)))


def _own_contact(council: Council) -> Contact | None:
    """The signed-in council user as a contact of their council (by address), if they are one."""
    if current_user.is_staff or current_user.council_id != council.id:
        return None
    return db.session.scalar(select(Contact).where(Contact.council_id == council.id,
                                                   func.lower(Contact.email) == current_user.email.lower())
                             .order_by(Contact.id).limit(1))


@bp.get("/councils/<int:council_id>/status")
@login_required
def council(council_id: int):
    return _council_page(_visible_council(council_id))


def _council_page(council: Council, notices_form: NoticesForm | None = None, status: int = 200):
    now = utcnow()
    releases = all_releases()
    instances = db.session.scalars(select(PlatformInstance).where(
        PlatformInstance.council_id == council.id, PlatformInstance.visible_to(current_user),
        PlatformInstance.status != InstanceStatus.RETIRED).order_by(PlatformInstance.base_url)).all()
    platforms = [platform_state(item, now, releases) for item in instances]
    outages = paginate(select(Outage).join(PlatformInstance).where(
        PlatformInstance.council_id == council.id, PlatformInstance.visible_to(current_user))
        .order_by(Outage.started_at.desc(), Outage.id.desc()), asked=request.args.get("outages", ""))
    windows = paginate(council_windows(council.id, now), asked=request.args.get("maintenance", ""))
    contact = _own_contact(council)
    if contact is not None and notices_form is None:
        notices_form = NoticesForm(receives_platform_notices=contact.receives_platform_notices)
    listeners = mail.listeners(council.id)
    return render_template("status/council.html", council=council, platforms=platforms, outages=outages,
                           windows=windows, now=now, contact=contact, notices_form=notices_form,
                           listeners=listeners, state_names=STATE_NAMES, level_names=LEVEL_NAMES,
                           version_names=STATE_LABELS), status


@bp.post("/councils/<int:council_id>/status/notices")
@login_required
def my_notices(council_id: int):
    """A council user turns their own notices on or off."""
    council = _visible_council(council_id)
    contact = _own_contact(council)
    if contact is None:
        abort(404)
    form = NoticesForm()
    if not form.validate_on_submit():
        return _council_page(council, form, 422)
    before = contact.receives_platform_notices
    contact.receives_platform_notices = bool(form.receives_platform_notices.data)
    if before != contact.receives_platform_notices:
        audit.record(current_user, "updated", contact, {"receives_platform_notices": {
            "before": before, "after": contact.receives_platform_notices}})
    db.session.commit()
    flash(_("You will receive e-mail about your platform.") if contact.receives_platform_notices
          else _("You will no longer receive e-mail about your platform."), "success")
    return redirect(url_for("status.council", council_id=council.id))


# --- the link in each notice ------------------------------------------------------------------------------

@bp.route("/notices/stop/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof, and mail clients post it themselves (RFC 8058 one-click)
def stop(token: str):
    """Stop (or resume) a contact's notices from the link in one, without signing in."""
    contact = mail.contact_of_token(token)
    if contact is None:
        return render_template("status/stop.html", contact=None, form=ConfirmForm()), 404
    if request.method == "POST":
        wanted = request.form.get("resume") == "1"
        if contact.receives_platform_notices != wanted:
            audit.record(None, "updated", contact, {"receives_platform_notices": {
                "before": contact.receives_platform_notices, "after": wanted}})
            contact.receives_platform_notices = wanted
        db.session.commit()
        return render_template("status/stop.html", contact=contact, form=ConfirmForm(), done=True)
    return render_template("status/stop.html", contact=contact, form=ConfirmForm(), done=False)


# --- the technicians' maintenance screens ---------------------------------------------------------------

def _list_query(view: str, now: datetime):
    statement = select(MaintenanceWindow)
    if view == "past":
        return statement.where(MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.ends_at <= now).order_by(
            MaintenanceWindow.starts_at.desc(), MaintenanceWindow.id.desc())
    if view == "cancelled":
        return statement.where(MaintenanceWindow.cancelled_at.is_not(None)).order_by(
            MaintenanceWindow.starts_at.desc(), MaintenanceWindow.id.desc())
    return statement.where(MaintenanceWindow.cancelled_at.is_(None), MaintenanceWindow.ends_at > now).order_by(
        MaintenanceWindow.starts_at, MaintenanceWindow.id)


@bp.get("/maintenance")
@staff_required
def maintenance():
    """Planned maintenance: to come (and under way), past, cancelled."""
    view = request.args.get("view", "upcoming")
    if view not in LISTS:
        view = "upcoming"
    now = utcnow()
    return render_template("status/maintenance.html", page=paginate(_list_query(view, now)), view=view, now=now,
                           lists=LISTS)


def _choices(form: MaintenanceForm) -> None:
    form.instance_ids.choices = [(item.id, f"{item.host} · {name}") for item, name in db.session.execute(
        select(PlatformInstance, Council.name).join(Council).where(PlatformInstance.status.in_(PLANNABLE))
        .order_by(Council.name, PlatformInstance.base_url))]
    form.council_ids.choices = [(id_, name) for id_, name in db.session.execute(select(Council.id, Council.name).where(
        select(PlatformInstance.id).where(PlatformInstance.council_id == Council.id,
                                          PlatformInstance.status.in_(PLANNABLE)).exists())
        .order_by(Council.name))]


def _local(moment: datetime | None) -> datetime | None:
    """A time typed in the desk's time zone, as the aware UTC datetime it is stored as."""
    return moment.replace(tzinfo=_zone()) if moment is not None else None


def _data(form: MaintenanceForm) -> MaintenanceData:
    return MaintenanceData(starts_at=_local(form.starts_at.data), ends_at=_local(form.ends_at.data),
                           reason=form.reason.data or "", instance_ids=tuple(form.instance_ids.data or ()),
                           council_ids=tuple(form.council_ids.data or ()))


@bp.route("/maintenance/new", methods=["GET", "POST"])
@roles_required(*PLANNER_ROLES)
def new_maintenance():
    form = MaintenanceForm()
    _choices(form)
    if request.method == "GET":
        instance = request.args.get("instance", type=int)
        if instance:
            form.instance_ids.data = [instance]
    if form.validate_on_submit():
        try:
            window = schedule_maintenance(current_user, _data(form), utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Maintenance planned for %(count)d instances.", count=len(window.instances)), "success")
            return redirect(url_for("status.maintenance"))
    return render_template("status/maintenance_form.html", form=form, window=None), 422 if form.errors or \
        form.form_errors else 200


def _window(window_id: int) -> MaintenanceWindow:
    return db.get_or_404(MaintenanceWindow, window_id)


@bp.route("/maintenance/<int:window_id>", methods=["GET", "POST"])
@roles_required(*PLANNER_ROLES)
def edit_maintenance(window_id: int):
    window = _window(window_id)
    form = MaintenanceForm()
    _choices(form)
    if request.method == "GET":
        zone = _zone()
        form.starts_at.data = window.starts_at.astimezone(zone).replace(tzinfo=None)
        form.ends_at.data = window.ends_at.astimezone(zone).replace(tzinfo=None)
        form.reason.data = window.reason
        form.instance_ids.data = [item.id for item in window.instances]
    elif form.validate_on_submit():
        try:
            update_maintenance(current_user, window, _data(form), utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Maintenance saved."), "success")
            return redirect(url_for("status.maintenance"))
    return render_template("status/maintenance_form.html", form=form, window=window, cancel_form=ConfirmForm(),
                           trail=audit.trail(window), now=utcnow()), 422 if form.errors or form.form_errors else 200


@bp.post("/maintenance/<int:window_id>/cancel")
@roles_required(*PLANNER_ROLES)
def cancel(window_id: int):
    window = _window(window_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        cancel_maintenance(current_user, window, utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("status.edit_maintenance", window_id=window.id))
    db.session.commit()
    flash(_("Maintenance cancelled: the councils told of it will hear so."), "success")
    return redirect(url_for("status.maintenance"))


@instance_section
def _maintenance_section(instance: PlatformInstance, user) -> tuple[str, dict] | None:
    """Staff see an instance's maintenance to come on its page (and planners a link to plan one)."""
    if not user.is_staff:
        return None
    windows = db.session.scalars(select(MaintenanceWindow).join(
        maintenance_instances, maintenance_instances.c.window_id == MaintenanceWindow.id).where(
        maintenance_instances.c.instance_id == instance.id, MaintenanceWindow.cancelled_at.is_(None),
        MaintenanceWindow.ends_at > utcnow()).order_by(MaintenanceWindow.starts_at).limit(20)).all()
    return "status/_instance_section.html", {"windows": windows}
