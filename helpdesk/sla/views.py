"""Administrators' screens: calendars (weekly hours, holidays) and SLA policies."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select

from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import required, show_error
from helpdesk.core.models import utcnow
from helpdesk.core.templating import describe_field
from helpdesk.extensions import db
from helpdesk.sla.forms import CalendarForm, HolidayForm, PolicyForm, parse_hours
from helpdesk.sla.models import OFFICIAL_HOLIDAYS, POLICY_DIMENSIONS, Calendar, Holiday, SlaPolicy
from helpdesk.sla.services import (WEEKDAYS, CalendarData, PolicyData, add_holiday, remove_holiday, save_calendar,
                                   save_policy, upcoming_holidays)

bp = Blueprint("sla", __name__, url_prefix="/admin")

describe_field("timezone", _l("Time zone"))
describe_field("is_24x7", _l("Open all the time (24x7)"))
describe_field("official_holidays", _l("Official holidays"), OFFICIAL_HOLIDAYS)
describe_field("weekly_hours", _l("Weekly hours"))
describe_field("holiday", _l("Holiday"))
describe_field("name_es", _l("Name (Spanish)"))
describe_field("name_en", _l("Name (English)"))
describe_field("calendar_id", _l("Calendar"), resolve=lambda id_: getattr(db.session.get(Calendar, id_), "name", None))
describe_field("first_response_minutes", _l("First response target (minutes of business time)"))
describe_field("resolution_minutes", _l("Resolution target (minutes of business time)"))


def _today() -> date:
    from zoneinfo import ZoneInfo
    return utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()


@bp.get("/calendars")
@roles_required(Role.ADMIN)
def calendars() -> ResponseReturnValue:
    items = db.session.scalars(select(Calendar).order_by(Calendar.name)).all()
    return render_template("sla/calendars.html", calendars=items, weekdays=WEEKDAYS)


@bp.route("/calendars/new", methods=["GET", "POST"], defaults={"calendar_id": None})
@bp.route("/calendars/<int:calendar_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def calendar(calendar_id: int | None) -> ResponseReturnValue:
    item = db.get_or_404(Calendar, calendar_id) if calendar_id else None
    form = CalendarForm(obj=item) if request.method == "GET" else CalendarForm()
    if request.method == "GET" and item is not None:
        for weekday in WEEKDAYS:
            spans = [interval for interval in item.intervals if interval.weekday == weekday]
            getattr(form, f"day_{weekday}").data = ", ".join(
                f"{span.opens:%H:%M}-{span.closes:%H:%M}".replace("-00:00", "-24:00") for span in spans)
    if form.validate_on_submit():
        intervals = [(weekday, opens, closes) for weekday in WEEKDAYS
                     for opens, closes in parse_hours(getattr(form, f"day_{weekday}").data)]
        try:
            item = save_calendar(current_user, CalendarData(
                required(form.name.data), required(form.timezone.data), form.is_24x7.data,
                form.official_holidays.data, intervals), item)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Calendar “%(name)s” saved. Open tickets' due times follow it.", name=item.name), "success")
            return redirect(url_for("sla.calendar", calendar_id=item.id))
    return _calendar_page(item, form, HolidayForm(prefix="holiday"))


def _calendar_page(item: Calendar | None, form: CalendarForm, holiday_form: HolidayForm,
                   status: int | None = None) -> tuple[str, int]:
    context: dict[str, object] = {"calendar": item, "form": form, "holiday_form": holiday_form, "weekdays": WEEKDAYS}
    if item is not None:
        context.update(upcoming=upcoming_holidays(item, _today()), trail=audit.trail(item),
                       local={holiday.day: holiday for holiday in item.holidays})
    return render_template("sla/calendar.html", **context), status or (422 if form.errors or holiday_form.errors
                                                                         else 200)


@bp.post("/calendars/<int:calendar_id>/holidays")
@roles_required(Role.ADMIN)
def new_holiday(calendar_id: int) -> ResponseReturnValue:
    item = db.get_or_404(Calendar, calendar_id)
    holiday_form = HolidayForm(prefix="holiday")
    if holiday_form.validate_on_submit():
        try:
            add_holiday(current_user, item, required(holiday_form.day.data), required(holiday_form.name.data))
        except DomainError as error:
            db.session.rollback()
            show_error(holiday_form, error)
        else:
            db.session.commit()
            flash(_("Holiday added."), "success")
            return redirect(url_for("sla.calendar", calendar_id=calendar_id))
    return _calendar_page(db.get_or_404(Calendar, calendar_id), CalendarForm(obj=item), holiday_form, 422)


@bp.post("/holidays/<int:holiday_id>/remove")
@roles_required(Role.ADMIN)
def drop_holiday(holiday_id: int) -> ResponseReturnValue:
    holiday = db.get_or_404(Holiday, holiday_id)
    calendar_id = holiday.calendar_id
    remove_holiday(current_user, holiday)
    db.session.commit()
    flash(_("Holiday removed."), "success")
    return redirect(url_for("sla.calendar", calendar_id=calendar_id))


@bp.get("/sla-policies")
@roles_required(Role.ADMIN)
def policies() -> ResponseReturnValue:
    items = db.session.scalars(select(SlaPolicy).order_by(SlaPolicy.category.is_(None), SlaPolicy.category,
                                                          SlaPolicy.priority)).all()
    return render_template("sla/policies.html", policies=items, dimensions=POLICY_DIMENSIONS)


@bp.route("/sla-policies/new", methods=["GET", "POST"], defaults={"policy_id": None})
@bp.route("/sla-policies/<int:policy_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def policy(policy_id: int | None) -> ResponseReturnValue:
    item = db.get_or_404(SlaPolicy, policy_id) if policy_id else None
    form = PolicyForm(obj=item) if request.method == "GET" and item else PolicyForm()
    form.category.choices = [("", _("Any"))] + [(key, label) for key, label in POLICY_DIMENSIONS["category"].items()]
    form.priority.choices = [("", _("Any"))] + [(key, label) for key, label in POLICY_DIMENSIONS["priority"].items()]
    form.calendar_id.choices = [("", "—")] + [(str(id_), name) for id_, name in db.session.execute(
        select(Calendar.id, Calendar.name).order_by(Calendar.name))]
    if form.validate_on_submit():
        try:
            item = save_policy(current_user, PolicyData(
                required(form.name.data), form.category.data, form.priority.data, form.calendar_id.data,
                required(form.first_response_minutes.data), required(form.resolution_minutes.data),
                form.name_es.data or "", form.name_en.data or ""), item)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Policy “%(name)s” saved. Open tickets' due times follow it.", name=item.localized_name),
                  "success")
            return redirect(url_for("sla.policies"))
    return render_template("sla/policy.html", form=form, policy=item,
                           trail=audit.trail(item) if item else []), 422 if form.errors else 200
