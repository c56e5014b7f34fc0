"""Signing in and out (with a second factor where required), single-use links (invitations, password resets),
one's own account and sessions, and the language picker. The administrators' screens are in admin_views."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import (Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for)
from flask.typing import ResponseReturnValue
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from helpdesk.auth import record, sessions, tokens
from helpdesk.auth import second_factor as totp
from helpdesk.auth.forms import (ActionForm, ChoosePasswordForm, CodeForm, EnrolForm, ForgotPasswordForm,
                                 LanguageForm, LoginForm, PasswordChangeForm, PreferencesForm, SignatureForm)
from helpdesk.auth.models import ROLE_LABELS, SIGN_IN_METHOD_LABELS, SignInMethod, TokenPurpose, User, UserSession
from helpdesk.auth.services import (LoginRefused, LoginThrottled, Throttle, authenticate, change_own_password,
                                    set_language, sign_in, sign_out)
from helpdesk.config import LANGUAGE_LABELS
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.throttle import rate_limited
from helpdesk.core.models import utcnow
from helpdesk.core.templating import ACTION_LABELS, describe_field
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
ACTION_LABELS.update({
    "invited": _l("sent an invitation"),
    "invitation_withdrawn": _l("withdrew the invitation"),
    "second_factor_enrolled": _l("turned the second factor on"),
    "second_factor_reset": _l("reset the second factor"),
    "sessions_ended": _l("ended the sessions"),
})
# The browser and system a session came from, named as people know them (first match wins).
BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Safari/", "Safari"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Windows", "Windows"),
           ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))

#: How long the password stays good while the second factor is asked for.
SECOND_STEP_MINUTES = 5
#: Forms that mail someone or take a secret link: each address asks for a few resets an hour, each e-mail
#: address receives at most five (nobody's mailbox is flooded), and links are not tried by the thousand.
RESETS_PER_ADDRESS, RESETS_PER_EMAIL, LINK_TRIES = 10, 5, 30
HOUR = timedelta(hours=1)
#: Pages a person who must enrol a second factor can still open before doing so.
BEFORE_ENROLMENT = {"auth.second_factor", "auth.logout", "auth.language", "static", "accessibility.statement"}


def client() -> record.Client:
    return record.Client(request.remote_addr or "", request.user_agent.string or "")


def lifetimes() -> sessions.Lifetimes:
    return sessions.Lifetimes.from_config(current_app.config)


@bp.before_app_request
def resume_session() -> ResponseReturnValue | None:
    """Load the session before the view (its last activity, or its end when idle, is committed on its own);
    send someone who must have a second factor and has none to enrol it."""
    if request.endpoint == "static":
        return None
    user = current_user._get_current_object()
    if db.session.dirty:
        db.session.commit()
    if (user.is_authenticated and not user.has_second_factor and request.endpoint not in BEFORE_ENROLMENT
            and totp.is_required(user, current_app.config)):
        if request.method != "GET":
            abort(403)
        return redirect(url_for("auth.second_factor"))
    return None


def _complete_sign_in(user: User, method: SignInMethod, next_url: str | None) -> ResponseReturnValue:
    now = utcnow()
    previous = record.last_sign_in(user, now)
    flashes = session.get("_flashes")  # what the page before said (a password saved) is still said
    session.clear()  # a fresh session at sign-in; the user's saved language applies from now on
    if flashes:
        session["_flashes"] = flashes
    sign_in(user, method, client(), now)
    login_user(user)
    session.permanent = True
    db.session.commit()
    if previous is not None:
        flash(_("Your previous sign-in: %(when)s, from %(address)s.", when=format_datetime(previous.at, "medium"),
                address=previous.address or _("an unknown address")), "info")
    return redirect(safe_next(next_url))


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm(next=request.args.get("next", ""))
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.email.data, form.password.data, client(), utcnow(),
                                Throttle.from_config(current_app.config))
        except LoginThrottled as error:
            db.session.commit()  # the refusal is recorded
            form.form_errors.append(str(error.message))
            status = 429
        except LoginRefused as error:
            db.session.commit()  # the failure counts towards throttling
            form.form_errors.append(str(error.message))
            status = 401
        else:
            if user.has_second_factor:
                db.session.commit()  # an upgraded password hash
                session["second_step"] = {"user": user.id, "method": SignInMethod.PASSWORD.value,
                                          "at": utcnow().isoformat(), "next": form.next.data or ""}
                return redirect(url_for("auth.second_step"))
            return _complete_sign_in(user, SignInMethod.PASSWORD, form.next.data)
    return render_template("auth/login.html", form=form), status


def begin_second_step(user: User, method: SignInMethod, next_url: str = "") -> ResponseReturnValue:
    """Sign ``user`` in now, or first ask for their second factor if they have one (for other ways in, such as
    a council's Decidim)."""
    if user.has_second_factor:
        db.session.commit()  # what the way in did (an account linked), before the code is asked for
        session["second_step"] = {"user": user.id, "method": method.value, "at": utcnow().isoformat(),
                                  "next": next_url}
        return redirect(url_for("auth.second_step"))
    return _complete_sign_in(user, method, next_url)


@bp.route("/login/code", methods=["GET", "POST"])
def second_step() -> ResponseReturnValue:
    pending = session.get("second_step")
    user = db.session.get(User, pending["user"]) if pending else None
    if (pending is None or user is None or not user.is_active or not user.has_second_factor
            or utcnow() - datetime.fromisoformat(pending["at"]) > timedelta(minutes=SECOND_STEP_MINUTES)):
        session.pop("second_step", None)
        flash(_("Please sign in again."), "info")
        return redirect(url_for("auth.login"))
    form = CodeForm()
    status = 200
    if form.validate_on_submit():
        try:
            totp.verify(user, form.code.data, utcnow(), current_app.config["SECRET_KEY"], client())
        except totp.WrongCode as error:
            db.session.commit()  # the failure counts towards throttling
            show_error(form, error)
            status = 401
        else:
            session.pop("second_step", None)
            return _complete_sign_in(user, SignInMethod(pending["method"]), pending["next"])
    return render_template("auth/second_step.html", form=form), status


@bp.post("/logout")
@login_required
def logout() -> ResponseReturnValue:
    sign_out(current_user._get_current_object(), client(), utcnow())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.post("/language")
def language() -> ResponseReturnValue:
    form = LanguageForm()
    if form.validate_on_submit():
        session["language"] = form.language.data
        if current_user.is_authenticated:
            set_language(current_user, form.language.data)
            db.session.commit()
    return redirect(safe_next(form.next.data))


def _typed_email() -> str:
    return (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/password/forgot", methods=["GET", "POST"])
@rate_limited("password-reset", limit=RESETS_PER_ADDRESS, per=HOUR, methods=("POST",))
@rate_limited("password-reset-email", limit=RESETS_PER_EMAIL, per=HOUR, by=_typed_email, methods=("POST",))
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        tokens.request_reset(form.email.data, client(), timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"]),
                             utcnow())
        db.session.commit()
        # The same answer whether or not the address has an account.
        flash(_("If %(email)s belongs to an account, a link to choose a new password is on its way. It works once, "
                "for %(minutes)d minutes.", email=form.email.data,
                minutes=current_app.config["PASSWORD_RESET_MINUTES"]), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@rate_limited("account-link", limit=LINK_TRIES, per=HOUR)
def reset_password(token: str) -> ResponseReturnValue:
    return _choose_password(token, TokenPurpose.PASSWORD_RESET, SignInMethod.RESET)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@rate_limited("account-link", limit=LINK_TRIES, per=HOUR)
def accept_invitation(token: str) -> ResponseReturnValue:
    return _choose_password(token, TokenPurpose.INVITATION, SignInMethod.INVITATION)


def _choose_password(token: str, purpose: TokenPurpose, method: SignInMethod) -> ResponseReturnValue:
    try:
        link = tokens.usable(token, purpose, utcnow())
    except tokens.LinkNotUsable as error:
        return render_template("auth/link_unusable.html", message=error.message), 410
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            user = tokens.redeem(token, purpose, form.password.data, client(), utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            if current_user.is_authenticated and current_user.id != user.id:  # this browser becomes theirs
                sign_out(current_user._get_current_object(), client(), utcnow())
                logout_user()
            flash(_("Your password has been saved.") if purpose is TokenPurpose.INVITATION else
                  _("Your new password has been saved. Every other session of your account has been signed out."),
                  "success")
            return begin_second_step(user, method)
    return render_template("auth/choose_password.html", form=form, user=link.user, purpose=purpose.value)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account() -> ResponseReturnValue:
    preferences = PreferencesForm(prefix="preferences", language=current_user.language)
    password = PasswordChangeForm(prefix="password")
    signature = SignatureForm(prefix="signature", signature=current_user.signature) if current_user.is_staff else None
    if signature is not None and signature.save.data and signature.validate_on_submit():
        # A preference of one's own, like the language: nothing to audit or check beyond its length.
        current_user.signature = (signature.signature.data or "").replace("\r\n", "\n").strip()
        db.session.commit()
        flash(_("Your signature has been saved."), "success")
        return redirect(url_for("auth.account"))
    if preferences.save.data and preferences.validate_on_submit():
        set_language(current_user, preferences.language.data)
        db.session.commit()
        flash(_("Your preferences have been saved."), "success")
        return redirect(url_for("auth.account"))
    if password.save.data and password.validate_on_submit():
        try:
            change_own_password(current_user._get_current_object(), password.current_password.data,
                                password.password.data, client())
        except DomainError as error:
            db.session.rollback()
            show_error(password, error)
        else:
            db.session.commit()
            flash(_("Your password has been changed. Other sessions have been signed out."), "success")
            return redirect(url_for("auth.account"))
    user = current_user._get_current_object()
    return render_template("auth/account.html", preferences=preferences, password=password, signature=signature,
                           sessions=sessions.open_sessions(user, utcnow(), lifetimes()),
                           current=user.current_session, action=ActionForm(),
                           previous=record.last_sign_in(user, user.current_session.created_at),
                           recovery_left=totp.unused_recovery_codes(user),
                           must_have_second_factor=totp.is_required(user, current_app.config))


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int) -> ResponseReturnValue:
    row = db.session.scalar(select(UserSession).where(UserSession.id == session_id,
                                                      UserSession.user_id == current_user.id))
    if row is None:
        abort(404)
    if ActionForm().validate_on_submit():
        sessions.end(row, sessions.SessionEnd.ENDED_BY_USER, utcnow())
        record.note(record.SignInKind.SESSION_ENDED, user=current_user._get_current_object(), client=client(),
                    detail=f"session {row.id}")
        db.session.commit()
        flash(_("The session has been ended."), "success")
    if current_user.current_session is not None and row.id == current_user.current_session.id:
        logout_user()
        session.clear()
        return redirect(url_for("auth.login"))
    return redirect(url_for("auth.account"))


@bp.route("/account/second-factor", methods=["GET", "POST"])
@login_required
def second_factor() -> ResponseReturnValue:
    user = current_user._get_current_object()
    if user.has_second_factor:
        return redirect(url_for("auth.account"))
    secret = session.get("enrolling") or totp.new_secret()
    session["enrolling"] = secret
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = totp.enrol(user, secret, form.code.data, utcnow(),
                                               current_app.config["SECRET_KEY"], client())
        except DomainError as error:
            show_error(form, error)
        else:
            db.session.commit()
            session.pop("enrolling", None)
            return render_template("auth/recovery_codes.html", codes=codes, first=True)
    uri = totp.enrolment_uri(user, secret)
    grouped = " ".join(secret[start:start + 4] for start in range(0, len(secret), 4))  # easier to type by hand
    return render_template("auth/enrol.html", form=form, secret=grouped, qr=totp.qr_code(uri),
                           required=totp.is_required(user, current_app.config))


@bp.post("/account/second-factor/recovery-codes")
@login_required
def renew_recovery_codes() -> ResponseReturnValue:
    user = current_user._get_current_object()
    if not user.has_second_factor or not ActionForm().validate_on_submit():
        return redirect(url_for("auth.account"))
    codes = totp.renew_recovery_codes(user, utcnow(), client())
    db.session.commit()
    return render_template("auth/recovery_codes.html", codes=codes, first=False)



@bp.app_template_filter("user_agent")
def user_agent(text: str) -> str:
    """"Firefox · Linux" for a browser's User-Agent header; the header itself when it names neither."""
    browser = next((name for mark, name in BROWSERS if mark in text), "")
    system = next((name for mark, name in SYSTEMS if mark in text), "")
    return " · ".join(part for part in (browser, system) if part) or text[:60] or "—"


@bp.app_template_filter("sign_in_method")
def sign_in_method(value: str) -> str:
    """How a sign-in was made, in words (the record keeps the method's code)."""
    try:
        return str(SIGN_IN_METHOD_LABELS[SignInMethod(value)])
    except ValueError:
        return value


@bp.app_context_processor
def language_picker() -> dict[str, object]:
    # Not filled from the request: every page shows it, the 413 page too, whose body must not be read.
    return {"language_form": LanguageForm(formdata=None), "language_labels": LANGUAGE_LABELS}


from helpdesk.auth import admin_views  # noqa: E402,F401  (its routes are on this blueprint)
