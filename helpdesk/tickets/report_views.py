"""Reports for staff: SLA compliance, as a table, a chart and a CSV file."""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from markupsafe import Markup

from helpdesk.auth.access import staff_required
from helpdesk.core import csvsafe
from helpdesk.core.models import utcnow
from helpdesk.tickets.reports import GROUPINGS, chart_svg, compliance

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _period() -> tuple[date, date, str, list[str]]:
    today = utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    problems = []

    def read(name: str, default: date) -> date:
        raw = request.args.get(name, "")
        if not raw:
            return default
        try:
            return date.fromisoformat(raw)
        except ValueError:
            problems.append(name)
            return default
    start = read("from", (today.replace(day=1) - timedelta(days=335)).replace(day=1))
    end = read("to", today)
    if end < start:
        problems.append("to")
        start, end = end, start
    group = request.args.get("group", "month")
    return start, end, group if group in GROUPINGS else "month", problems


@bp.get("/sla")
@staff_required
def sla():
    start, end, group, problems = _period()
    rows = compliance(start, end, group, current_app.config["TIMEZONE"])
    chart = Markup(chart_svg(rows, _("First responses on time"), _("Resolutions on time"))) if rows else None
    return render_template("tickets/report_sla.html", rows=rows, start=start, end=end, group=group,
                           groupings=GROUPINGS, chart=chart, problems=problems)


@bp.get("/sla.csv")
@staff_required
def sla_csv():
    start, end, group, _problems = _period()
    rows = compliance(start, end, group, current_app.config["TIMEZONE"])
    header = [group, "tickets", "first_response_counted", "first_response_met_percent",
              "first_response_median_minutes", "first_response_p90_minutes", "resolution_counted",
              "resolution_met_percent", "resolution_median_minutes", "resolution_p90_minutes"]
    # Labels (a council's name) are text and kept text; the figures stay numbers, negative or not.
    return csvsafe.download(f"sla-{group}-{start}-{end}", [header] + [
        [row.label, row.tickets] + [value for measure in (row.first_response, row.resolution)
                                    for value in (measure.counted, measure.percent_met, measure.median, measure.p90)]
        for row in rows])
