"""The bell and the list: a person's own notifications (another's id is a 404), marking them read, the e-mail
settings, the unread count as JSON for the live desk, and the names offered while typing a mention."""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from helpdesk.auth.access import staff_required
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.core.views import safe_next
from helpdesk.extensions import db
from helpdesk.notifications import services
from helpdesk.notifications.forms import MarkReadForm, PreferencesForm
from helpdesk.notifications.models import NotificationKind

bp = Blueprint("notifications", __name__)
LATEST = 5  # unread ones the JSON lists


@bp.app_template_global()
def unread_notifications() -> int | None:
    """The bell's number for the signed-in staff member (None for anyone else); counted once per request."""
    if not (current_user and current_user.is_authenticated and current_user.is_staff):
        return None
    if "unread_notifications" not in g:
        try:
            g.unread_notifications = services.unread_count(current_user)
        except SQLAlchemyError:  # the error page of a failed transaction: no bell rather than no page
            g.unread_notifications = None
    count: int | None = g.unread_notifications
    return count


@bp.get("/notifications")
@staff_required
def index() -> str:
    page = paginate(services.listed(current_user))
    return render_template("notifications/index.html", page=page, form=MarkReadForm(),
                           unread=unread_notifications())


@bp.post("/notifications/read")
@staff_required
def read_all() -> Response:
    # The CSRF token is checked before any view (CSRFProtect), so a forged POST never gets here.
    count = services.mark_all_read(current_user, utcnow())
    db.session.commit()
    flash(_("%(count)d notifications marked read.", count=count) if count else _("Nothing was unread."), "success")
    return redirect(url_for("notifications.index"))


@bp.get("/notifications/<int:notification_id>")
@staff_required
def open_(notification_id: int) -> Response:
    """Following a notification marks it read and goes to its place. A GET, so that it is a plain link (from
    the list and from its e-mail); all another site could do with it is mark one's own notification read."""
    notification = services.find(current_user, notification_id)
    if notification is None:
        abort(404)
    services.mark_read(current_user, notification, utcnow())
    db.session.commit()
    return redirect(safe_next(notification.url))  # only places on the desk itself


@bp.post("/notifications/<int:notification_id>/read")
@staff_required
def read_one(notification_id: int) -> Response:
    notification = services.find(current_user, notification_id)
    if notification is None:
        abort(404)
    services.mark_read(current_user, notification, utcnow())
    db.session.commit()
    page = request.form.get("page", "")
    return redirect(url_for("notifications.index", page=page) if page.isdigit() else url_for("notifications.index"))


@bp.route("/notifications/settings", methods=["GET", "POST"])
@staff_required
def settings() -> Response | tuple[str, int]:
    form = PreferencesForm()
    if request.method == "GET":
        chosen = services.emailed_kinds(current_user)
        for kind, field in form.kind_fields:
            field.data = kind in chosen
    elif form.validate_on_submit():
        services.save_preferences(current_user, form.chosen())
        db.session.commit()
        flash(_("Your notification settings have been saved."), "success")
        return redirect(url_for("notifications.settings"))
    return render_template("notifications/settings.html", form=form, kinds=NotificationKind), \
        422 if form.errors else 200


@bp.get("/notifications/unread.json")
@staff_required
def unread() -> Response:
    """{count, latest: [...]}: what the live desk shows on the bell and in the tab's title."""
    return jsonify({"count": unread_notifications(),
                    "latest": [services.as_json(item) for item in services.latest_unread(current_user, LATEST)]})


@bp.get("/notifications/people")
@staff_required
def people() -> Response:
    """Active staff matching ``q`` ([{handle, name}]), for completing ``@handle`` in a note."""
    return jsonify(services.people(request.args.get("q", "")[:100]))
