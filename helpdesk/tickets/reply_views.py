"""Replies and messages beyond the ticket page's own forms: the Markdown preview of a reply (with the agent's
signature, as it will be sent) and splitting a message off into a new ticket. Routes on the tickets blueprint."""
from __future__ import annotations

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from helpdesk.auth.access import staff_required
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.models import utcnow
from helpdesk.core.templating import describe_field
from helpdesk.extensions import db
from helpdesk.tickets import replies, split
from helpdesk.tickets.models import BODY_MAX_LENGTH, Message, Ticket
from helpdesk.tickets.reply_forms import SplitForm
from helpdesk.tickets.views import bp, visible_ticket

describe_field("split_into_id", _l("Split off into"), resolve=lambda id_: f"#{id_}")
describe_field("split_from_id", _l("Split off from"), resolve=lambda id_: f"#{id_}")


@bp.app_template_global()
def can_split(ticket: Ticket, message: Message) -> bool:
    """Whether the ticket page offers "Split into a new ticket" on this message."""
    return split.can_split(ticket, message)


@bp.post("/tickets/<int:number>/reply/preview")
@staff_required
def reply_preview(number: int) -> ResponseReturnValue:
    """``{"body": Markdown}`` → ``{"html": …}``: the reply as the requester will see it, signature included."""
    visible_ticket(number)
    asked = request.get_json(silent=True)
    body = asked.get("body") if isinstance(asked, dict) else None
    if not isinstance(body, str) or len(body) > BODY_MAX_LENGTH:
        abort(400)
    text = replies.with_signature(body.replace("\r\n", "\n").strip(), current_user.signature)
    return jsonify(html=replies.to_html(text))


def _message_of(number: int, message_id: int) -> tuple[Ticket, Message]:
    ticket = visible_ticket(number)
    message = db.session.scalar(select(Message).where(Message.id == message_id, Message.ticket_id == ticket.id))
    if message is None:
        abort(404)
    return ticket, message


@bp.route("/tickets/<int:number>/messages/<int:message_id>/split", methods=["GET", "POST"])
@staff_required
def split_off(number: int, message_id: int) -> ResponseReturnValue:
    """Ask for the new ticket's subject, showing the message; then open the new ticket with it."""
    ticket, message = _message_of(number, message_id)
    form = SplitForm(prefix="split", subject=split.default_subject(ticket))
    problem = split.refusal(ticket, message)
    if problem is not None:
        flash(problem.message, "error")
        return redirect(url_for("tickets.show", number=number))
    if form.validate_on_submit():
        try:
            new = split.split_message(current_user, ticket, message, form.subject.data, utcnow())
            db.session.commit()
        except (DomainError, StaleDataError) as error:
            db.session.rollback()
            show_error(form, error if isinstance(error, DomainError) else DomainError(
                _("Someone changed this ticket at the same moment. Nothing was saved: try again.")))
            ticket, message = _message_of(number, message_id)
        else:
            flash(_("The message is now ticket %(reference)s.", reference=new.reference), "success")
            return redirect(url_for("tickets.show", number=new.id))
    return render_template("tickets/split_confirm.html", ticket=ticket, message=message, form=form), (
        422 if form.errors else 200)
