"""Administrators' view of mail kept aside: filtered (machine-written) and quarantined messages."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.inbound import files, held_query, retry, ticket_held
from helpdesk.tickets.models import HeldMail

bp = Blueprint("mail", __name__, url_prefix="/admin/mail")


@bp.get("/<any(filtered, quarantined):kind>")
@roles_required(Role.ADMIN)
def held(kind: str):
    page = db.paginate(held_query(kind), per_page=50, error_out=False)
    return render_template("tickets/held_mail.html", page=page, kind=kind)


def _held(held_id: int) -> HeldMail:
    item = db.get_or_404(HeldMail, held_id)
    if item.status != "held":
        abort(404)
    return item


@bp.get("/message/<int:held_id>.eml")
@roles_required(Role.ADMIN)
def download(held_id: int):
    item = db.get_or_404(HeldMail, held_id)
    return Response(files().read(item.raw_sha256), mimetype="message/rfc822",
                    headers={"Content-Disposition": f"attachment; filename=held-{item.id}.eml",
                             "Content-Security-Policy": "default-src 'none'; sandbox"})


@bp.post("/message/<int:held_id>/ticket")
@roles_required(Role.ADMIN)
def make_ticket(held_id: int):
    ticket = ticket_held(_held(held_id), current_user, utcnow())
    db.session.commit()
    flash(_("Ticket %(reference)s opened from the message.", reference=ticket.reference), "success")
    return redirect(url_for("tickets.show", number=ticket.id))


@bp.post("/message/<int:held_id>/retry")
@roles_required(Role.ADMIN)
def retry_one(held_id: int):
    outcome = retry(_held(held_id))
    flash(_("Retried: %(outcome)s.", outcome=outcome.kind), "success" if outcome.kind != "quarantined" else "error")
    return redirect(url_for("mail.held", kind="quarantined"))


@bp.post("/message/<int:held_id>/discard")
@roles_required(Role.ADMIN)
def discard(held_id: int):
    item = _held(held_id)
    item.status, item.resolved_at = "discarded", utcnow()
    db.session.commit()
    flash(_("Message set aside for good (its file is kept)."), "success")
    return redirect(url_for("mail.held", kind=item.kind))
