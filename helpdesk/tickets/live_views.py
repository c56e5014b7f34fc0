"""The live desk's two endpoints: what changed since a page's last ask (with who has its tickets open), and
saving a reply draft as it is typed. Pages work without them; desk-live.js asks every couple of seconds."""
from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from flask import abort, jsonify, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from helpdesk.auth.access import staff_required
from helpdesk.core.models import utcnow
from helpdesk.core.validation import whole_number
from helpdesk.extensions import db
from helpdesk.tickets import live
from helpdesk.tickets.views import bp, inbox_parts, visible_ticket

#: A page lists at most this many tickets whose presence it asks about.
MOST_TICKETS = 200


def _numbers(value: Any) -> list[int]:
    if not isinstance(value, list):
        return []
    numbers = [whole_number(str(item)) for item in value[:MOST_TICKETS]]
    return [number for number in numbers if number is not None]


@bp.post("/live")
@staff_required
def changes() -> ResponseReturnValue:
    """``{"after": id, "ticket": n, "typing": bool, "tickets": [n, …], "inbox": "?query"}`` → the changes after
    ``after``, who else has ``ticket`` or the listed tickets open, the last event id, and for an inbox the
    parts of its page that changed."""
    asked = request.get_json(silent=True)
    if not isinstance(asked, dict):
        abort(400)
    after = whole_number(str(asked.get("after", 0))) or 0
    now = utcnow()
    ticket = whole_number(str(asked.get("ticket", ""))) if asked.get("ticket") else None
    if ticket is not None:
        visible_ticket(ticket)
        live.note_presence(current_user, ticket, bool(asked.get("typing")), now)
        if db.session.dirty or db.session.new:
            db.session.commit()
    found, more = live.changes_after(after)
    watched = sorted(set(_numbers(asked.get("tickets"))) | ({ticket} if ticket else set()))
    present = live.present(watched, now, current_user) if watched else {}
    # An inbox that sent its query gets its fresh rows in this answer when something new happened, rather
    # than asking for them again (late commits below ``after`` it notices itself, and asks).
    rows = None
    if isinstance(asked.get("inbox"), str) and (more or any(change.id > after for change in found)):
        arguments = MultiDict(parse_qsl(asked["inbox"].removeprefix("?")[:4000], keep_blank_values=True))
        rows = render_template("tickets/_inbox_live.html", **inbox_parts(arguments))
    return jsonify(last=max([change.id for change in found], default=after), more=more, inbox=rows,
                   changes=[{"id": change.id, "kind": change.kind, "ticket": change.ticket, "fields": change.fields}
                            for change in found],
                   present={str(number): [{"name": person.name, "typing": person.typing} for person in people]
                            for number, people in present.items()})


@bp.post("/tickets/<int:number>/draft")
@staff_required
def draft(number: int) -> ResponseReturnValue:
    """``{"kind": "reply"|"note", "body": text}``: keep the draft (empty forgets it)."""
    visible_ticket(number)
    asked = request.get_json(silent=True)
    if not isinstance(asked, dict) or asked.get("kind") not in ("reply", "note") or not isinstance(
            asked.get("body", ""), str) or len(asked.get("body", "")) > 100_000:
        abort(400)
    live.save_draft(current_user, number, live.DraftKind(asked["kind"]), asked.get("body", ""), utcnow())
    db.session.commit()
    return jsonify(saved=True)


@bp.post("/tickets/<int:number>/leave")
@staff_required
def leave(number: int) -> ResponseReturnValue:
    """The page was closed: no longer "also here" (sent by the browser as the page goes)."""
    visible_ticket(number)
    live.leave(current_user, number)
    db.session.commit()
    return "", 204
