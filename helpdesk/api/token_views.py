"""My account's API tokens: create one (its secret shown once), revoke one."""
from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from helpdesk.api.forms import TokenForm
from helpdesk.api.models import ApiToken, TokenScope
from helpdesk.api.tokens import create_token, revoke_token, tokens_of
from helpdesk.auth.forms import ActionForm
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.models import utcnow
from helpdesk.extensions import db

bp = Blueprint("api_tokens", __name__)


@bp.app_template_global()
def api_token_section() -> dict:
    """What My account's "API tokens" section shows: the user's working tokens and a blank form."""
    return {"tokens": tokens_of(current_user, utcnow()), "form": TokenForm(prefix="token", formdata=None),
            "action": ActionForm(formdata=None)}


@bp.post("/account/api-tokens")
@login_required
def create():
    form = TokenForm(prefix="token")
    if form.validate_on_submit():
        expires_at = None
        if form.expires_on.data:
            zone = ZoneInfo(current_app.config["TIMEZONE"])
            expires_at = datetime.combine(form.expires_on.data, time(), zone).astimezone(ZoneInfo("UTC"))
        try:
            token = create_token(current_user._get_current_object(), form.name.data, TokenScope(form.scope.data),
                                 utcnow(), expires_at)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            response = current_app.make_response(render_template("api/token_created.html", token=token))
            response.headers["Cache-Control"] = "no-store"  # the secret is on this page, once
            return response
    return render_template("api/token_form.html", form=form), 422


@bp.post("/account/api-tokens/<int:token_id>/revoke")
@login_required
def revoke(token_id: int) -> ResponseReturnValue:
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == current_user.id))
    if token is None:
        abort(404)
    if ActionForm().validate_on_submit():
        revoke_token(current_user._get_current_object(), token, utcnow())
        db.session.commit()
        flash(_("The token “%(name)s” has been revoked: it no longer works.", name=token.name), "success")
    return redirect(url_for("auth.account") + "#api-tokens")
