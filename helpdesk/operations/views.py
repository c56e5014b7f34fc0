"""The operations page for administrators (and its check of uncertain deliveries), and ``/health`` for an
outside monitor (bearer token)."""
from __future__ import annotations

import hmac

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role
from helpdesk.core.delivery import NotUncertain, mark_sent, send_again, to_check
from helpdesk.core.forms import ConfirmForm
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage
from helpdesk.core.pagination import paginate
from helpdesk.extensions import db
from helpdesk.operations.delivery import related_records
from helpdesk.operations.status import GROUPS, collect, report, shown, worst

bp = Blueprint("operations", __name__)


@bp.get("/admin/status")
@roles_required(Role.ADMIN)
def status():
    now = utcnow()
    facts = collect(now)
    groups = [(GROUPS[key], [fact for fact in facts if fact.group == key]) for key in GROUPS]
    return render_template("operations/status.html", groups=groups, overall=worst(facts), now=now, shown=shown)


@bp.get("/admin/status/delivery")
@roles_required(Role.ADMIN)
def delivery():
    """Messages whose delivery is uncertain, for an administrator to mark sent or send again."""
    page = paginate(to_check())
    return render_template("operations/delivery.html", page=page, related=related_records(page.items),
                           form=ConfirmForm())


@bp.post("/admin/status/delivery/<int:message_id>/<any(sent, again):action>")
@roles_required(Role.ADMIN)
def check_delivery(message_id: int, action: str):
    """Mark an uncertain message sent (it did arrive) or put it back in the queue, due now."""
    if not ConfirmForm().validate_on_submit():  # the CSRF token
        abort(400)
    message = db.get_or_404(OutboxMessage, message_id, with_for_update=True)
    try:
        (mark_sent if action == "sent" else send_again)(current_user, message, utcnow())
    except NotUncertain as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("Marked as sent: it will not go out again.") if action == "sent"
              else _("Back in the queue: it goes out with the next delivery round."), "success")
    return redirect(url_for("operations.delivery", page=request.args.get("page") or None))  # the same page


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


from helpdesk.operations import emails  # noqa: E402,F401 (the e-mail previews are routes of this blueprint)
