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
from helpdesk.tickets import satisfaction
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
    ratings = satisfaction.by_group(start, end, group, current_app.config["TIMEZONE"])
    return render_template("tickets/report_sla.html", rows=rows, start=start, end=end, group=group,
                           groupings=GROUPINGS, chart=chart, problems=problems, ratings=ratings)


@bp.get("/sla.csv")
@staff_required
def sla_csv():
    start, end, group, _problems = _period()
    rows = compliance(start, end, group, current_app.config["TIMEZONE"])
    ratings = {row.key: row for row in satisfaction.by_group(start, end, group, current_app.config["TIMEZONE"])}
    header = [group, "tickets", "first_response_counted", "first_response_met_percent",
              "first_response_median_minutes", "first_response_p90_minutes", "resolution_counted",
              "resolution_met_percent", "resolution_median_minutes", "resolution_p90_minutes",
              "rated_good", "rated_not_good", "rated_good_percent"]
    # A group rated in the period but with no ticket opened in it (last month's tickets rated this month) has a
    # row of its own, its SLA columns empty.
    sla_rows = {row.key: row for row in rows}
    lines = []
    for key in sorted(set(sla_rows) | set(ratings)):
        row, rated = sla_rows.get(key), ratings.get(key)
        line: list = ([row.label, row.tickets] + [
            value for measure in (row.first_response, row.resolution)
            for value in (measure.counted, measure.percent_met, measure.median, measure.p90)]
            if row is not None else [rated.label if rated else key, 0] + [None] * 8)
        summary = rated.summary if rated is not None else satisfaction.Summary(0, 0)
        share = summary.share_good
        line += [summary.good, summary.not_good, round(100 * share, 1) if share is not None else None]
        lines.append(line)
    # Labels (a council's name) are text and kept text; the figures stay numbers, negative or not.
    return csvsafe.download(f"sla-{group}-{start}-{end}", [header] + lines)
