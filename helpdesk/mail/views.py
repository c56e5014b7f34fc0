"""Administrators' mail screens: the mailboxes fetched from, and mail kept aside (filtered, quarantined)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.mail.models import Mailbox, MailboxSettings
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.extensions import db
from helpdesk.mail.mailboxes import AUTH_LABELS, MailboxData, MailboxForm, mailbox_states, save_mailbox, try_mailbox
from helpdesk.mail.intake import held_query, retry, ticket_held
from helpdesk.mail.models import HeldKind, HeldMail, HeldStatus
from helpdesk.tickets.services import blob_store

bp = Blueprint("mail", __name__, url_prefix="/admin/mail")


@bp.get("/<any(filtered, quarantined):kind>")
@roles_required(Role.ADMIN)
def held(kind: str) -> ResponseReturnValue:
    page = paginate(held_query(HeldKind(kind)), per_page=2 * current_app.config["PAGE_SIZE"])
    return render_template("mail/held_mail.html", page=page, kind=kind)


def _held(held_id: int) -> HeldMail:
    item = db.get_or_404(HeldMail, held_id)
    if item.status is not HeldStatus.HELD:
        abort(404)
    return item


@bp.get("/message/<int:held_id>.eml")
@roles_required(Role.ADMIN)
def download(held_id: int) -> ResponseReturnValue:
    item = db.get_or_404(HeldMail, held_id)
    return Response(blob_store().read(item.raw_sha256), mimetype="message/rfc822",
                    headers={"Content-Disposition": f"attachment; filename=held-{item.id}.eml",
                             "Content-Security-Policy": "default-src 'none'; sandbox"})


@bp.post("/message/<int:held_id>/ticket")
@roles_required(Role.ADMIN)
def make_ticket(held_id: int) -> ResponseReturnValue:
    ticket = ticket_held(_held(held_id), current_user, utcnow())
    db.session.commit()
    flash(_("Ticket %(reference)s opened from the message.", reference=ticket.reference), "success")
    return redirect(url_for("tickets.show", number=ticket.id))


@bp.post("/message/<int:held_id>/retry")
@roles_required(Role.ADMIN)
def retry_one(held_id: int) -> ResponseReturnValue:
    outcome = retry(_held(held_id))
    flash(_("Retried: %(outcome)s.", outcome=outcome.kind), "success" if outcome.kind != "quarantined" else "error")
    return redirect(url_for("mail.held", kind="quarantined"))


@bp.post("/message/<int:held_id>/discard")
@roles_required(Role.ADMIN)
def discard(held_id: int) -> ResponseReturnValue:
    item = _held(held_id)
    item.status, item.resolved_at = HeldStatus.DISCARDED, utcnow()
    db.session.commit()
    flash(_("Message set aside for good (its file is kept)."), "success")
    return redirect(url_for("mail.held", kind=item.kind.value))


@bp.get("/mailboxes")
@roles_required(Role.ADMIN)
def mailboxes() -> ResponseReturnValue:
    items = db.session.scalars(db.select(Mailbox).order_by(Mailbox.host, Mailbox.username, Mailbox.folder)).all()
    return render_template("mail/mailboxes.html", mailboxes=items, states=mailbox_states(),
                           from_config=MailboxSettings.from_config(current_app.config), sign_in=AUTH_LABELS)


@bp.route("/mailboxes/new", methods=["GET", "POST"], defaults={"mailbox_id": None})
@bp.route("/mailboxes/<int:mailbox_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def mailbox(mailbox_id: int | None) -> ResponseReturnValue:
    item = db.get_or_404(Mailbox, mailbox_id) if mailbox_id else None
    form = MailboxForm(obj=item) if request.method == "GET" and item else MailboxForm()
    form.describe_secrets(item)
    if form.validate_on_submit():
        try:
            item = save_mailbox(current_user, MailboxData.from_form(form), item)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Mailbox %(name)s saved: mail is fetched from it within a minute.", name=item.name)
                  if item.is_active else _("Mailbox %(name)s saved: mail is not fetched from it.", name=item.name),
                  "success")
            return redirect(url_for("mail.mailbox", mailbox_id=item.id))
    return render_template("mail/mailbox.html", form=form, mailbox=item,
                           state=mailbox_states().get(item.name) if item else None,
                           trail=audit.trail(item) if item else []), 422 if form.errors else 200


@bp.post("/mailboxes/<int:mailbox_id>/try")
@roles_required(Role.ADMIN)
def try_connection(mailbox_id: int) -> ResponseReturnValue:
    worked, report = try_mailbox(db.get_or_404(Mailbox, mailbox_id))
    flash(report, "success" if worked else "error")
    return redirect(url_for("mail.mailbox", mailbox_id=mailbox_id))
