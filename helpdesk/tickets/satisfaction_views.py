"""Satisfaction's pages: rating from the resolution mail's link (no sign-in) and from the council's ticket page.

The mail's links open a page that records nothing by itself: it shows the choice made in the mail, a comment
box and one button that sends them (a POST with its CSRF token). Mail scanners open every link of a message
to inspect it; were the opening to record, a scanner would rate each resolution, and its "not good" would tell
the agent of a complaint nobody made.
"""
from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_login import current_user, login_required
from sqlalchemy.exc import IntegrityError

from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.models import utcnow
from helpdesk.core.templating import ACTION_LABELS, describe_field
from helpdesk.councils import recipients
from helpdesk.extensions import db
from helpdesk.tickets import satisfaction
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.satisfaction_forms import CHOICE_LABELS, RatingForm
from helpdesk.tickets.views import _page, bp, visible_ticket

ACTION_LABELS.setdefault("rated", _l("rated the resolution"))
describe_field("satisfaction", _l("Satisfaction"), CHOICE_LABELS)
describe_field("satisfaction_comment", _l("Satisfaction comment"))


@bp.app_template_global()
def satisfaction_panel(ticket: Ticket) -> dict[str, Any]:
    """What the ticket page shows of the rating: the current one, whether it can be given (or changed) now,
    and the form (the one that failed, with its errors, after a refused POST)."""
    rating = satisfaction.current_rating(ticket)
    form = getattr(g, "rating_form", None) or RatingForm(
        formdata=None, rating="good" if rating is None or rating.is_good else "not_good",
        comment=rating.comment if rating else "")
    return {"asked": satisfaction.asks_rating(ticket), "rating": rating, "form": form,
            "can_rate": satisfaction.can_change(ticket, rating) and not current_user.is_staff
            and current_user.council_id == ticket.council_id}


def _save(ticket: Ticket, form: RatingForm, by: Any) -> None:
    """Rate, and commit; two first ratings at the same moment: the second changes the first."""
    for attempt in range(2):
        try:
            satisfaction.rate(ticket, form.rating.data == "good", form.comment.data or "", utcnow(), by=by)
            db.session.commit()
            return
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise
            ticket = db.session.get(Ticket, ticket.id, populate_existing=True) or ticket


# --- from the council's ticket page ----------------------------------------------------------------------

@bp.post("/tickets/<int:number>/rating")
@login_required
def rate_in_portal(number: int) -> ResponseReturnValue:
    if current_user.is_staff:
        abort(403)  # the requester's side rates, not the desk
    ticket = visible_ticket(number)  # another council's ticket is not found
    form = RatingForm()
    if form.validate_on_submit():
        try:
            _save(ticket, form, current_user)
        except DomainError as error:
            db.session.rollback()
            if error.field is None:  # not resolved, closed and rated: said at the top of the page as it is now
                flash(str(error.message), "error")
                return redirect(url_for("tickets.show", number=number))
            show_error(form, error)
        else:
            flash(_("Thank you: your rating of %(reference)s has been saved.", reference=ticket.reference), "success")
            return redirect(url_for("tickets.show", number=number) + "#rating")
    g.rating_form = form
    return _page(visible_ticket(number), 422)


# --- from the resolution mail's link ---------------------------------------------------------------------

@bp.route("/tickets/<int:number>/rate/<token>", methods=["GET", "POST"])
def rate_by_link(number: int, token: str) -> ResponseReturnValue:
    try:
        ticket = satisfaction.ticket_for_token(number, token)
    except satisfaction.RatingRefused as error:
        return render_template("tickets/rate_refused.html", number=number, message=error.message), 400
    if not current_user.is_authenticated and "language" not in session:
        # The page speaks the mail's language (the requester's), until they choose another.
        session["language"] = recipients.language_of(ticket.requester_email, contact=ticket.requester_contact)
        refresh()
    rating = satisfaction.current_rating(ticket)
    choice = request.args.get("choice", "")
    if request.method == "GET":
        chosen = choice if choice in satisfaction.CHOICES else (
            "not_good" if rating is not None and not rating.is_good else "good")
        form = RatingForm(formdata=None, rating=chosen, comment=rating.comment if rating else "")
    else:
        form = RatingForm()
        if form.validate_on_submit():
            try:
                _save(ticket, form, None)
            except DomainError as error:
                db.session.rollback()
                show_error(form, error)
            else:
                flash(_("Thank you: your rating of %(reference)s has been saved.", reference=ticket.reference),
                      "success")
                return redirect(url_for("tickets.rate_by_link", number=number, token=token))
        ticket = db.session.get(Ticket, number) or ticket
        rating = satisfaction.current_rating(ticket)
    status = 422 if form.errors or form.form_errors else 200
    return render_template("tickets/rate.html", ticket=ticket, rating=rating, form=form, chosen=choice,
                           can_rate=satisfaction.can_change(ticket, rating), labels=CHOICE_LABELS), status
