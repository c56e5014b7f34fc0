"""The operations page for administrators, and ``/health`` for an outside monitor (bearer token)."""
from __future__ import annotations

import hmac

from flask import Blueprint, abort, current_app, jsonify, render_template, request
from flask_babel import force_locale

from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.operations.status import GROUPS, collect, report, shown, worst

bp = Blueprint("operations", __name__)


@bp.get("/admin/status")
@roles_required(Role.ADMIN)
def status():
    now = utcnow()
    facts = collect(now)
    groups = [(GROUPS[key], [fact for fact in facts if fact.group == key]) for key in GROUPS]
    return render_template("operations/status.html", groups=groups, overall=worst(facts), now=now, shown=shown)


@bp.get("/health")
def health():
    """The same facts as JSON; 404 while HEALTH_TOKEN is unset, 401 without the right bearer token."""
    token = current_app.config["HEALTH_TOKEN"]
    if not token:
        abort(404)  # switched off: nobody can be let in
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        response = jsonify({"error": "a valid bearer token is required (Authorization: Bearer TOKEN)"})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Bearer realm="helpdesk"'
        return response
    now = utcnow()
    with force_locale("en"):  # for the monitor's logs, whatever the desk's language
        response = jsonify(report(collect(now), now))
    response.headers["Cache-Control"] = "no-store"
    return response
