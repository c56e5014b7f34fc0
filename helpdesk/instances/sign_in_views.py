"""The pages of signing in with a council's Decidim: choosing the platform, leaving for it, coming back."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from helpdesk.auth.models import SignInMethod
from helpdesk.auth.views import begin_second_step, client
from helpdesk.core.models import utcnow
from helpdesk.core.throttle import rate_limited
from helpdesk.core.urls import base_url
from helpdesk.extensions import db
from helpdesk.instances import sign_in
from helpdesk.instances.models import PlatformInstance

bp = Blueprint("decidim_sign_in", __name__)
ATTEMPT = "decidim_sign_in"
#: Leaving for a platform and coming back: a person needs a few; a script trying codes gets no further.
TRIES, TRIES_PER = 30, timedelta(hours=1)


def _redirect_uri() -> str:
    return f"{base_url()}/login/decidim/callback"


def _refused(message: object, instance: PlatformInstance | None = None) -> ResponseReturnValue:
    return render_template("instances/sign_in_refused.html", message=message, instance=instance), 400


@bp.get("/login/decidim")
def choose() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    return render_template("instances/sign_in.html", instances=sign_in.instances_offering_sign_in(),
                           next=request.args.get("next", ""))


@bp.get("/login/decidim/<int:instance_id>")
@rate_limited("decidim-sign-in", limit=TRIES, per=TRIES_PER)
def leave(instance_id: int) -> ResponseReturnValue:
    instance = db.get_or_404(PlatformInstance, instance_id)
    try:
        url, attempt = sign_in.begin(instance, current_app.config["SECRET_KEY"], _redirect_uri(),
                                     request.args.get("next", ""))
    except sign_in.SignInRefused as error:
        return _refused(error.message, instance)
    session[ATTEMPT] = attempt.as_dict()
    return redirect(url)


@bp.get("/login/decidim/callback")
@rate_limited("decidim-sign-in", limit=TRIES, per=TRIES_PER)
def come_back() -> ResponseReturnValue:
    attempt = sign_in.Attempt.from_dict(session.pop(ATTEMPT, None))  # used once, whatever happens next
    now = utcnow()
    try:
        instance, person = sign_in.finish(attempt, request.args.to_dict(), current_app.config["SECRET_KEY"],
                                          _redirect_uri(), current_app.config["DECIDIM_TIMEOUT_SECONDS"])
    except sign_in.SignInRefused as error:
        sign_in.record_refusal(attempt.instance_id if attempt else None, client(), now, str(error.message))
        db.session.commit()
        return _refused(error.message)
    try:
        user = sign_in.accept(instance, person, now, current_app.config["DEFAULT_LANGUAGE"])
    except sign_in.SignInRefused as error:
        db.session.rollback()  # nothing is created for a person who is refused, but the refusal is recorded
        sign_in.record_refusal(instance.id, client(), now, str(error.message), person.email)
        db.session.commit()
        return _refused(error.message, instance)
    return begin_second_step(user, SignInMethod.DECIDIM, attempt.next_url if attempt else "")


@bp.app_context_processor
def sign_in_choices() -> dict[str, object]:
    # A function, so that only the sign-in page asks the database.
    return {"decidim_sign_in_available": lambda: bool(sign_in.instances_offering_sign_in())}
