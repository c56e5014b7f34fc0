"""The renewal dossier's screens: a council's page (for the catalogue managers at renewal time; administrators,
agents and technicians read it too; a council user reads its own council's) and the same as a PDF."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import format_date
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.utils import secure_filename

from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.core.validation import EARLIEST_YEAR, LATEST_YEAR
from helpdesk.councils.models import Council
from helpdesk.dossier import pdf
from helpdesk.dossier.services import LONGEST_PERIOD_YEARS, Period, build
from helpdesk.extensions import db
from helpdesk.instances.releases import STATE_LABELS

bp = Blueprint("dossier", __name__, url_prefix="/dossier")
#: Staff who read a council's dossier; the OTPGL's approvers have no part in renewals.
READERS = frozenset({Role.CATALOGUE_MANAGER, Role.ADMIN, Role.AGENT, Role.TECHNICIAN})


def may_read(user, council_id: int) -> bool:
    """Whether ``user`` reads the council's dossier: staff among READERS, and the council's own users."""
    return user.role in READERS if user.is_staff else user.council_id == council_id


def _council(council_id: int) -> Council:
    """The council whose dossier is asked for, if the reader may see it (a council user: its own; else 404)."""
    if current_user.is_staff and not may_read(current_user, council_id):
        abort(403)
    return db.first_or_404(select(Council).where(Council.id == council_id, Council.visible_to(current_user)))


def _period() -> tuple[Period | None, dict[str, str]]:
    """The period asked for in ``from`` and ``to`` (None: the default); a problem by the field it concerns."""
    problems: dict[str, str] = {}
    values: dict[str, date | None] = {}
    for name in ("from", "to"):
        raw = request.args.get(name, "").strip()
        values[name] = None
        if raw:
            try:
                values[name] = date.fromisoformat(raw)
            except ValueError:
                problems[name] = _("Write the day as YYYY-MM-DD, such as 2026-03-01.")
                continue
            if not EARLIEST_YEAR <= values[name].year <= LATEST_YEAR:  # past 9999 no day after it can be counted
                problems[name] = _("Give a date between %(first)d and %(last)d.", first=EARLIEST_YEAR,
                                   last=LATEST_YEAR)
    start, end = values["from"], values["to"]
    if not problems and (start is None) != (end is None):
        problems["to" if end is None else "from"] = _("Give both days of the period, or neither.")
    if problems or start is None or end is None:
        return None, problems
    if end < start:
        return None, {"to": _("The period ends before it starts.")}
    if (end - start).days > 366 * LONGEST_PERIOD_YEARS:
        return None, {"to": _("A dossier covers at most %(years)d years.", years=LONGEST_PERIOD_YEARS)}
    return Period(start, end), {}


def _dossier(council: Council):
    period, problems = _period()
    return build(council, period, utcnow(), current_app.config["TIMEZONE"]), problems


@bp.get("/councils/<int:council_id>")
@login_required
def show(council_id: int):
    council = _council(council_id)
    dossier, problems = _dossier(council)
    return render_template("dossier/show.html", dossier=dossier, problems=problems,
                           pdf_problem=None), 422 if problems else 200


@bp.get("/councils/<int:council_id>.pdf")
@login_required
def download(council_id: int):
    council = _council(council_id)
    dossier, problems = _dossier(council)
    if problems:
        return render_template("dossier/show.html", dossier=dossier, problems=problems, pdf_problem=None), 422
    problem = pdf.unavailable()
    if problem is not None:
        current_app.logger.warning("The dossier's PDF cannot be made: %s", problem)
        return render_template("dossier/show.html", dossier=dossier, problems={}, pdf_problem=problem), 503
    html = render_template("dossier/print.html", dossier=dossier, made_at=utcnow())
    body = pdf.render(html, str(current_app.static_folder), str(current_app.static_url_path))
    name = f"dossier-{secure_filename(council.ine_code) or council.id}-{dossier.period.start}-{dossier.period.end}.pdf"
    return current_app.response_class(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"})


@bp.app_template_filter("dossier_month")
def month(first_day: date) -> str:
    """A month with its year in the reader's language: març de 2026, March 2026."""
    return str(format_date(first_day, "LLLL y"))


@bp.context_processor
def labels() -> dict:
    return {"version_labels": STATE_LABELS}


@bp.app_context_processor
def dossier_link() -> dict:
    return {"may_read_dossier": may_read}
