"""The administrators' screens of accounts: users, invitations, second-factor resets and the sign-in record."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, Iterator
from zoneinfo import ZoneInfo

from flask import current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_user
from sqlalchemy import func, or_, select

from helpdesk.auth import record, second_factor, sessions, tokens
from helpdesk.auth.access import roles_required
from helpdesk.auth.forms import ActionForm, InviteForm, NewUserForm, RecordFilterForm, SetPasswordForm, UserForm
from helpdesk.auth.models import Role, SessionEnd, SignInKind, User
from helpdesk.auth.services import create_user, set_password, update_user
from helpdesk.auth.views import bp, client, sign_in_method
from helpdesk.core import audit, csvsafe
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.core.throttle import rate_limited, reader_or_address

#: Invitations an administrator may send in an hour (a council import invites its contacts in one go).
INVITATIONS_PER_HOUR = 200
from helpdesk.councils.models import Council
from helpdesk.extensions import db


def _council_choices() -> list[tuple[str, str]]:
    councils = db.session.execute(select(Council.id, Council.name).order_by(Council.name)).all()
    return [("", "—")] + [(str(id_), name) for id_, name in councils]


def _invitation_lifetime() -> timedelta:
    return timedelta(days=current_app.config["INVITATION_DAYS"])


@bp.get("/admin/users")
@roles_required(Role.ADMIN)
def users() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    statement = select(User).order_by(User.name, User.id)  # the id: a stable order across pages
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(or_(func.lower(User.name).like(pattern), func.lower(User.email).like(pattern)))
    if role in {item.value for item in Role}:
        statement = statement.where(User.role == Role(role))
    page = paginate(statement)
    return render_template("auth/users.html", page=page, query=query, role=role, roles=list(Role))


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user() -> ResponseReturnValue:
    form = NewUserForm()
    form.council_id.choices = _council_choices()
    if form.validate_on_submit():
        try:
            user = create_user(current_user, email=form.email.data, name=form.name.data, role=form.role.data,
                               password=form.password.data, council_id=form.council_id.data,
                               language=form.language.data, is_active=form.is_active.data)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("User %(email)s created.", email=user.email), "success")
            return redirect(url_for("auth.edit_user", user_id=user.id))
    return render_template("auth/user_form.html", form=form, user=None)


def _user_page(user: User, form: UserForm, password: SetPasswordForm, status: int = 200) -> ResponseReturnValue:
    return render_template("auth/user_form.html", form=form, user=user, password=password, action=ActionForm(),
                           open_sessions=sessions.open_sessions(user, utcnow(),
                                                                sessions.Lifetimes.from_config(current_app.config)),
                           trail=audit.trail(user)), status


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.council_id.choices = _council_choices()
    if form.validate_on_submit():
        try:
            update_user(current_user, user, email=form.email.data, name=form.name.data, role=form.role.data,
                        council_id=form.council_id.data, language=form.language.data,
                        is_active=form.is_active.data)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("User %(email)s saved.", email=user.email), "success")
            return redirect(url_for("auth.edit_user", user_id=user.id))
    return _user_page(user, form, SetPasswordForm(prefix="password"))


@bp.post("/admin/users/<int:user_id>/password")
@roles_required(Role.ADMIN)
def set_user_password(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    password = SetPasswordForm(prefix="password")
    if password.validate_on_submit():
        try:
            set_password(current_user._get_current_object(), user, password.password.data, client=client())
        except DomainError as error:
            db.session.rollback()
            show_error(password, error)
        else:
            db.session.commit()
            if user.id == current_user.id:
                login_user(user)
            flash(_("The password of %(email)s has been changed.", email=user.email), "success")
            return redirect(url_for("auth.edit_user", user_id=user.id))
    form = UserForm(obj=user)
    form.council_id.choices = _council_choices()
    return _user_page(user, form, password, 422)


@bp.post("/admin/users/<int:user_id>/second-factor/reset")
@roles_required(Role.ADMIN)
def reset_second_factor(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        try:
            second_factor.reset(current_user._get_current_object(), user, utcnow())
        except DomainError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            db.session.commit()
            flash(_("The second factor of %(email)s has been reset: they enrol a new one at their next sign-in.",
                    email=user.email), "success")
    return redirect(url_for("auth.edit_user", user_id=user.id))


@bp.post("/admin/users/<int:user_id>/sessions/end")
@roles_required(Role.ADMIN)
def end_user_sessions(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        count = sessions.end_all(user, SessionEnd.ENDED_BY_USER, utcnow(),
                                 keep=current_user.current_session if user.id == current_user.id else None)
        record.note(SignInKind.SESSION_ENDED, user=user, actor=current_user._get_current_object(), client=client(),
                    detail=f"{count} sessions ended by an administrator")
        audit.record(current_user, "sessions_ended", user)
        db.session.commit()
        flash(_("%(count)d sessions of %(email)s have been ended.", count=count, email=user.email), "success")
    return redirect(url_for("auth.edit_user", user_id=user.id))


@bp.route("/admin/invitations", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
@rate_limited("invitation", limit=INVITATIONS_PER_HOUR, per=timedelta(hours=1), by=reader_or_address,
              methods=("POST",))
def invitations() -> ResponseReturnValue:
    form = InviteForm()
    form.council_id.choices = _council_choices()
    if form.validate_on_submit():
        try:
            user = tokens.invite(current_user._get_current_object(), email=form.email.data, name=form.name.data,
                                 role=form.role.data, council_id=form.council_id.data, language=form.language.data,
                                 lifetime=_invitation_lifetime(), now=utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("An invitation has been sent to %(email)s.", email=user.email), "success")
            return redirect(url_for("auth.invitations"))
    page = paginate(tokens.pending_invitations())
    return render_template("auth/invitations.html", form=form, page=page, action=ActionForm(), now=utcnow())


@bp.post("/admin/invitations/<int:user_id>/resend")
@roles_required(Role.ADMIN)
@rate_limited("invitation", limit=INVITATIONS_PER_HOUR, per=timedelta(hours=1), by=reader_or_address)
def resend_invitation(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        try:
            tokens.resend_invitation(current_user._get_current_object(), user, _invitation_lifetime(), utcnow())
        except DomainError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            db.session.commit()
            flash(_("A new invitation has been sent to %(email)s; the earlier link no longer works.",
                    email=user.email), "success")
    return redirect(url_for("auth.invitations"))


@bp.post("/admin/invitations/<int:user_id>/withdraw")
@roles_required(Role.ADMIN)
def withdraw_invitation(user_id: int) -> ResponseReturnValue:
    user = db.get_or_404(User, user_id)
    if ActionForm().validate_on_submit():
        try:
            tokens.withdraw_invitation(current_user._get_current_object(), user, utcnow())
        except DomainError as error:
            db.session.rollback()
            flash(str(error.message), "error")
        else:
            db.session.commit()
            flash(_("The invitation of %(email)s has been withdrawn.", email=user.email), "success")
    return redirect(url_for("auth.invitations"))


def _record_filter(form: RecordFilterForm) -> record.RecordFilter:
    zone = ZoneInfo(current_app.config["TIMEZONE"])

    def start_of(day: Any) -> datetime | None:
        return datetime.combine(day, time(), zone) if day else None
    until = start_of(form.until.data)
    return record.RecordFilter(email=form.email.data or "",
                               kind=SignInKind(form.kind.data) if form.kind.data else None,
                               address=form.address.data or "", since=start_of(form.since.data),
                               until=until + timedelta(days=1) if until else None)


@bp.get("/admin/sign-ins")
@roles_required(Role.ADMIN)
def sign_in_record() -> ResponseReturnValue:
    form = RecordFilterForm(request.args)
    where = _record_filter(form) if form.validate() else record.RecordFilter()
    page = paginate(record.search(where))
    return render_template("auth/sign_ins.html", form=form, page=page, query=request.args.to_dict(flat=True))


@bp.get("/admin/sign-ins/export")
@roles_required(Role.ADMIN)
def export_sign_in_record() -> ResponseReturnValue:
    form = RecordFilterForm(request.args)
    where = _record_filter(form) if form.validate() else record.RecordFilter()
    zone = ZoneInfo(current_app.config["TIMEZONE"])

    def rows() -> Iterator[list[Any]]:
        yield [_("When"), _("Event"), _("E-mail"), _("Address"), _("Browser"), _("How"), _("By"), _("Detail")]
        for event in db.session.scalars(record.search(where).execution_options(yield_per=500)):
            yield [event.at.astimezone(zone).isoformat(timespec="seconds"), event.kind.label, event.email,
                   event.address, event.user_agent, sign_in_method(event.method) if event.method else "",
                   event.actor.email if event.actor else "", event.detail]
    return csvsafe.download("sign-ins", rows())
