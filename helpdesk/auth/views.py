"""Signing in and out, one's own account, the language picker and the administrators' user screens."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, or_, select

from helpdesk.auth.access import roles_required
from helpdesk.auth.forms import (LanguageForm, LoginForm, NewUserForm, PasswordChangeForm, PreferencesForm,
                                 SetPasswordForm, UserForm)
from helpdesk.auth.models import ROLE_LABELS, Role, User
from helpdesk.auth.services import (LoginRefused, LoginThrottled, authenticate, change_own_password, create_user,
                                    set_language, set_password, update_user)
from helpdesk.config import LANGUAGE_LABELS
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.core.templating import describe_field
from helpdesk.core.views import safe_next
from helpdesk.councils.models import Council
from helpdesk.extensions import db

bp = Blueprint("auth", __name__)

describe_field("email", _l("E-mail"))
describe_field("name", _l("Name"))
describe_field("role", _l("Role"), ROLE_LABELS)
describe_field("council_id", _l("Council"), resolve=lambda id_: getattr(db.session.get(Council, id_), "name", None))
describe_field("language", _l("Language"), LANGUAGE_LABELS)
describe_field("is_active", _l("Active"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        config = current_app.config
        try:
            user = authenticate(form.email.data, form.password.data, request.remote_addr or "", utcnow(),
                                max_per_account=config["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
                                max_per_address=config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
                                window=timedelta(minutes=config["LOGIN_THROTTLE_MINUTES"]))
        except LoginThrottled as error:
            form.form_errors.append(str(error.message))
            status = 429
        except LoginRefused as error:
            db.session.commit()  # the failure counts towards throttling
            form.form_errors.append(str(error.message))
            status = 401
        else:
            session.clear()  # a fresh session at sign-in; the user's saved language applies from now on
            login_user(user)
            session.permanent = True
            db.session.commit()
            return redirect(safe_next(form.next.data))
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language():
    form = LanguageForm()
    if form.validate_on_submit():
        session["language"] = form.language.data
        if current_user.is_authenticated:
            set_language(current_user, form.language.data)
            db.session.commit()
    return redirect(safe_next(form.next.data))


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    preferences = PreferencesForm(prefix="preferences", language=current_user.language)
    password = PasswordChangeForm(prefix="password")
    if preferences.save.data and preferences.validate_on_submit():
        set_language(current_user, preferences.language.data)
        db.session.commit()
        flash(_("Your preferences have been saved."), "success")
        return redirect(url_for("auth.account"))
    if password.save.data and password.validate_on_submit():
        try:
            change_own_password(current_user, password.current_password.data, password.password.data)
        except DomainError as error:
            show_error(password, error)
        else:
            db.session.commit()
            login_user(current_user._get_current_object())  # new session token: keep this session only
            flash(_("Your password has been changed. Other sessions have been signed out."), "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", preferences=preferences, password=password)


def _council_choices():
    councils = db.session.execute(select(Council.id, Council.name).order_by(Council.name)).all()
    return [("", "—")] + [(str(id_), name) for id_, name in councils]


@bp.get("/admin/users")
@roles_required(Role.ADMIN)
def users():
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
def new_user():
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


@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int):
    user = db.get_or_404(User, user_id)
    form = UserForm(obj=user) if request.method == "GET" else UserForm()
    form.council_id.choices = _council_choices()
    password = SetPasswordForm(prefix="password")
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
    return render_template("auth/user_form.html", form=form, user=user, password=password,
                           trail=audit.trail(user))


@bp.post("/admin/users/<int:user_id>/password")
@roles_required(Role.ADMIN)
def reset_password(user_id: int):
    user = db.get_or_404(User, user_id)
    password = SetPasswordForm(prefix="password")
    if password.validate_on_submit():
        try:
            set_password(current_user, user, password.password.data)
        except DomainError as error:
            show_error(password, error)
        else:
            db.session.commit()
            if user.id == current_user.id:
                login_user(user)
            flash(_("The password of %(email)s has been changed.", email=user.email), "success")
            return redirect(url_for("auth.edit_user", user_id=user.id))
    form = UserForm(obj=user)
    form.council_id.choices = _council_choices()
    return render_template("auth/user_form.html", form=form, user=user, password=password,
                           trail=audit.trail(user)), 422


@bp.app_context_processor
def language_picker():
    # Not filled from the request: every page shows it, the 413 page too, whose body must not be read.
    return {"language_form": LanguageForm(formdata=None), "language_labels": LANGUAGE_LABELS}
