"""SLA compliance: how many first responses and resolutions met their targets, and how long they took
in business time, by month, category, council, agent (the ticket's assignee) or channel; beside it, the
requesters' satisfaction (helpdesk/tickets/satisfaction.py) grouped the same way."""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from markupsafe import escape
from sqlalchemy import select

from helpdesk.auth.models import User
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.states import LABELS, Category, Channel

GROUPINGS = ("month", "category", "council", "agent", "channel")


@dataclass
class Measure:
    """One clock over a group of tickets: durations in business minutes and whether each met its target."""

    durations: list[float] = field(default_factory=list)
    met: int = 0
    missed: int = 0

    def add(self, seconds: int | None, target: int | None, breached: bool) -> None:
        if seconds is not None and target is not None:
            self.durations.append(seconds / 60)
            if seconds <= target:
                self.met += 1
            else:
                self.missed += 1
        elif breached:  # still running, already past its target
            self.missed += 1

    @property
    def counted(self) -> int:
        return self.met + self.missed

    @property
    def percent_met(self) -> float | None:
        return round(100 * self.met / self.counted, 1) if self.counted else None

    @property
    def median(self) -> float | None:
        return round(statistics.median(self.durations), 1) if self.durations else None

    @property
    def p90(self) -> float | None:
        if not self.durations:
            return None
        ordered = sorted(self.durations)
        return round(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)], 1)  # nearest rank


@dataclass
class Row:
    key: str
    label: str
    tickets: int = 0
    first_response: Measure = field(default_factory=Measure)
    resolution: Measure = field(default_factory=Measure)


def compliance(start: date, end: date, group: str, zone: str, council_id: int | None = None) -> list[Row]:
    """Rows for tickets opened from ``start`` to ``end`` (local dates, inclusive), grouped by ``group``; only
    one council's with ``council_id`` (the renewal dossier)."""
    local = ZoneInfo(zone)
    first = datetime.combine(start, datetime.min.time(), local)
    last = datetime.combine(end, datetime.max.time(), local)
    statement = (select(Ticket.created_at, Ticket.category, Ticket.channel, Council.name,
                        Ticket.first_response_business_seconds, Ticket.first_response_target_seconds,
                        Ticket.first_response_breached_at, Ticket.resolution_business_seconds,
                        Ticket.resolution_target_seconds, Ticket.resolution_breached_at, User.name)
                 .outerjoin(Council, Council.id == Ticket.council_id)
                 .outerjoin(User, User.id == Ticket.assignee_id)
                 .where(Ticket.created_at >= first, Ticket.created_at <= last, Ticket.sla_policy_id.is_not(None),
                        Ticket.merged_into_id.is_(None)))
    if council_id is not None:
        statement = statement.where(Ticket.council_id == council_id)
    rows: dict[str, Row] = {}
    for (created_at, category, channel, council, first_seconds, first_target, first_breached, resolution_seconds,
         resolution_target, resolution_breached, agent) in db.session.execute(statement):
        key, label = _key(group, created_at.astimezone(local), category, channel, council, agent)
        row = rows.setdefault(key, Row(key, label))
        row.tickets += 1
        row.first_response.add(first_seconds, first_target, first_breached is not None)
        row.resolution.add(resolution_seconds, resolution_target, resolution_breached is not None)
    return [rows[key] for key in sorted(rows)]


def _key(group: str, created: datetime, category: Category, channel: Channel, council: str | None,
         agent: str | None = None):
    if group == "month":
        return created.strftime("%Y-%m"), created.strftime("%Y-%m")
    if group == "category":
        return category.value, str(LABELS[Category][category])
    if group == "channel":
        return channel.value, str(LABELS[Channel][channel])
    if group == "agent":
        return agent or "", agent or "—"
    return council or "", council or "—"


def chart_svg(rows: list[Row], first_label: str, resolution_label: str) -> str:
    """Horizontal bars of the share met, two per row; drawn here, no scripts."""
    line, label_width, bar_width = 34, 220, 420
    height = 40 + line * len(rows)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {label_width + bar_width + 70} {height}" '
             f'role="img" aria-label="{escape(first_label)} / {escape(resolution_label)}" font-size="12" '
             f'font-family="system-ui, sans-serif">',
             f'<rect x="{label_width}" y="6" width="10" height="10" fill="#1d3f8f"/>'
             f'<text x="{label_width + 14}" y="15">{escape(first_label)}</text>',
             f'<rect x="{label_width + 200}" y="6" width="10" height="10" fill="#1f7a3f"/>'
             f'<text x="{label_width + 214}" y="15">{escape(resolution_label)}</text>']
    for index, row in enumerate(rows):
        top = 30 + index * line
        parts.append(f'<text x="{label_width - 8}" y="{top + 17}" text-anchor="end">{escape(row.label[:32])}</text>')
        for offset, measure, colour in ((0, row.first_response, "#1d3f8f"), (14, row.resolution, "#1f7a3f")):
            share = measure.percent_met
            width = bar_width * (share or 0) / 100
            parts.append(f'<rect x="{label_width}" y="{top + offset}" width="{width:.1f}" height="12" '
                         f'fill="{colour}"><title>{share if share is not None else "—"} %</title></rect>')
            parts.append(f'<text x="{label_width + width + 4:.1f}" y="{top + offset + 10}">'
                         f'{"—" if share is None else f"{share:g} %"}</text>')
    parts.append("</svg>")
    return "".join(parts)
