"""Phone calls to and from the support number: logging them, listing them, recognising the caller."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select

from helpdesk.auth.access import staff_required
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.core.validation import display_phone, whole_number
from helpdesk.councils.models import Contact, Council
from helpdesk.councils.services import suggest_callers
from helpdesk.extensions import db
from helpdesk.tickets.forms import CallForm
from helpdesk.tickets.models import Call, Message, Ticket
from helpdesk.tickets.services import CallData, TicketData, log_call
from helpdesk.tickets.states import Channel

bp = Blueprint("calls", __name__)


@bp.get("/calls")
@staff_required
def index():
    query = request.args.get("q", "").strip()
    statement = (select(Call).join(Message).join(Ticket, Message.ticket_id == Ticket.id)
                 .where(Ticket.visible_to(current_user)).order_by(Call.started_at.desc(), Call.id.desc()))
    if query:
        pattern = f"%{query.lower()}%"
        digits = "".join(char for char in query if char in "0123456789")
        conditions = [func.lower(Call.caller_name).like(pattern), func.lower(Call.summary).like(pattern)]
        if len(digits) >= 3:
            conditions.append(Call.caller_number.like(f"%{digits}%"))
        statement = statement.where(or_(*conditions))
    page = paginate(statement)
    return render_template("tickets/calls.html", page=page, query=query)


def call_form(form_class=CallForm, **defaults):
    form = form_class(**defaults)
    if form_class is CallForm:
        form.council_id.choices = [("", "—")] + [(str(id_), name) for id_, name in db.session.execute(
            select(Council.id, Council.name).order_by(Council.name))]
        form.requester_contact_id.choices = [("", "—")] + [
            (str(contact.id), f"{contact.name} ({contact.council.name})")
            for contact in db.session.scalars(select(Contact).join(Council).order_by(Contact.name))]
    return form


def call_data(form: CallForm) -> CallData:
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    return CallData(direction=form.direction.data, caller_number=form.caller_number.data or "",
                    caller_name=form.caller_name.data or "",
                    started_at=form.started_at.data.replace(tzinfo=zone),
                    duration_seconds=int(form.duration_minutes.data or 0) * 60, summary=form.summary.data,
                    category=form.category.data)


@bp.route("/calls/new", methods=["GET", "POST"])
@staff_required
def new():
    now_local = utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).replace(
        tzinfo=None, second=0, microsecond=0)
    form = call_form(started_at=now_local, caller_number=request.args.get("number", ""))
    if form.validate_on_submit():
        ticket, new_ticket = None, None
        typed = (form.ticket_number.data or "").strip()
        number = whole_number(typed, "#")
        try:
            if typed:
                ticket = db.session.scalar(select(Ticket).where(
                    Ticket.id == number, Ticket.visible_to(current_user))) if number is not None else None
                if ticket is None:
                    raise DomainError(_("There is no ticket %(reference)s.", reference="#" + typed.lstrip("#")),
                                      "ticket_number")
            else:
                council_id, contact_id = form.council_id.data, form.requester_contact_id.data
                if council_id is None and contact_id is None:
                    council_id, contact_id = _recognise(form.caller_number.data or "")
                new_ticket = TicketData(subject=form.subject.data or _("Phone call from %(who)s", who=(
                    form.caller_name.data or display_phone(form.caller_number.data or "") or _("unknown caller"))),
                    body="", channel=Channel.PHONE, council_id=council_id, requester_contact_id=contact_id)
            call = log_call(current_user, call_data(form), utcnow(), ticket=ticket, new_ticket=new_ticket)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            ticket = call.ticket
            flash(_("Call logged on %(reference)s.", reference=ticket.reference), "success")
            return redirect(url_for("tickets.show", number=ticket.id))
    return render_template("tickets/call_form.html", form=form), 422 if form.errors else 200


def _recognise(number: str) -> tuple[int | None, int | None]:
    """The council and contact a caller's number belongs to, when it points to exactly one."""
    matches = [item for item in suggest_callers(number=number) if item["reason"] == "number"]
    councils = {item["council_id"] for item in matches}
    if len(councils) != 1:
        return None, None
    contacts = [item["contact_id"] for item in matches if item["contact_id"]]
    return councils.pop(), contacts[0] if len(contacts) == 1 else None


@bp.get("/calls/lookup")
@staff_required
def lookup():
    """Suggestions for the call form as the agent types: councils and contacts by number or name."""
    return jsonify(suggestions=[
        {**item, "contact_phone": display_phone(item["contact_phone"]) if item["contact_phone"] else ""}
        for item in suggest_callers(number=request.args.get("number", "")[:40], name=request.args.get("name", "")[:80])
    ])
