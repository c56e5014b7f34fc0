"""Home, health check and error pages."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Flask, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf.csrf import CSRFError
from sqlalchemy import text

from helpdesk.core.templating import filesize
from helpdesk.extensions import db

bp = Blueprint("core", __name__)


@bp.route("/")
@login_required  # type: ignore[untyped-decorator]  # Flask-Login ships no types
def home() -> ResponseReturnValue:
    """Each role lands on its own work; agents and administrators on the inbox, councils on their tickets."""
    # By the role's value and the endpoints' names: core sits below the domains and imports none of them.
    landing = ROLE_HOMES.get(getattr(current_user.role, "value", ""))
    if landing is not None:
        return redirect(url_for(landing[0], **landing[1]))
    if current_user.is_staff:
        return redirect(url_for("tickets.index"))
    return redirect(url_for("tickets.council_index"))


#: Where a role's work waits: the OTPGL's requests to authorise, the catalogue's requests sent in and not yet taken
#: up, a technician's own tickets and every outage.
ROLE_HOMES: dict[str, tuple[str, dict[str, Any]]] = {
    "otpgl_approver": ("accompaniment.queue", {}),
    "catalogue_manager": ("catalog.requests", {"status": "submitted"}),
    "technician": ("tickets.index", {"view": "mine_and_outages"}),
}


@bp.get("/healthz")
def health() -> dict[str, str]:
    """For load balancers: the app answers and reaches its database."""
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


def safe_next(target: str | None) -> str:
    """A local path to go back to; anything pointing elsewhere becomes the home page."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//"):
            return target
    return url_for("core.home")


def register_error_handlers(app: Flask) -> None:
    def page(status: int, title: str, message: str) -> tuple[str, int]:
        return render_template("errors.html", status=status, title=title, message=message), status

    app.register_error_handler(403, lambda e: page(403, _("Not allowed"), _("Your role cannot open this page.")))
    app.register_error_handler(404, lambda e: page(404, _("Not found"),
                                                   _("This page does not exist, or it is not yours to see.")))
    app.register_error_handler(405, lambda e: page(405, _("Not allowed"),
                                                   _("This address does not take that request.")))
    app.register_error_handler(413, lambda e: page(413, _("Too large"), _(
        "What you sent is larger than the %(limit)s a form may carry: nothing was saved. Go back and send it "
        "with fewer or smaller files.", limit=filesize(app.config["MAX_CONTENT_LENGTH"]))))
    app.register_error_handler(CSRFError, lambda e: page(
        400, _("Form expired"), _("The form could not be checked (it is missing its security token or it has "
                                   "expired). Go back, reload the page and send it again.")))
    app.register_error_handler(500, lambda e: page(500, _("Something went wrong"),
                                                   _("The error has been logged. Nothing was saved; try again.")))
