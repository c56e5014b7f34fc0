"""The agents' inbox, the ticket page and its actions, the councils' own ticket pages, attachments."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Mapping
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from email_reply_parser import EmailReplyParser
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from helpdesk.auth.access import staff_required
from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage
from helpdesk.core.pagination import paginate
from helpdesk.core.templating import describe_field
from helpdesk.core.validation import whole_number
from helpdesk.core.views import safe_next
from helpdesk.councils.models import Contact, Council
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.instances.states import InstanceStatus
from helpdesk.instances.views import instance_section
from helpdesk.sla.models import SlaPolicy
from helpdesk.tickets import canned, clocks, inbox, live, outages
from helpdesk.tickets import context as ticket_context
from helpdesk.tickets import tags
from helpdesk.tickets import preferences  # the agent's inbox columns and sort
from helpdesk.tickets.preference_forms import ColumnsForm
from helpdesk.tickets.call_views import call_data, call_form
from helpdesk.tickets.forms import (BulkForm, CallLogForm, CouncilReplyForm, MergeForm, NewTicketForm, NoteForm,
                                    ReplyForm, StaffTicketForm, TicketFieldsForm)
from helpdesk.tickets.models import Attachment, CannedReply, Message, Ticket
from helpdesk.tickets.tag_forms import BulkTagForm
from helpdesk.tickets.services import (TicketChanges, TicketData, Upload, add_message, assign, assign_to_me,
                                       blob_store, change_status, check_merge, delete_message, is_requester, log_call,
                                       mark_read, merge_tickets, open_ticket, staff_choices, update_ticket)
from helpdesk.tickets.states import (ACTIVE_STATUSES, LABELS, CallDirection, Category, Channel, MessageKind, Priority,
                                     TicketStatus)

bp = Blueprint("tickets", __name__)

for _name, _label, _enum in (("status", _l("Status"), TicketStatus), ("priority", _l("Priority"), Priority),
                             ("category", _l("Category"), Category), ("channel", _l("Channel"), Channel)):
    describe_field(_name, _label, LABELS[_enum])
describe_field("subject", _l("Subject"))
describe_field("instance_id", _l("Platform"), resolve=lambda id_: getattr(db.session.get(PlatformInstance, id_),
                                                                          "host", None))
describe_field("assignee_id", _l("Assignee"), resolve=lambda id_: getattr(db.session.get(User, id_), "name", None))
describe_field("requester_contact_id", _l("Requester (contact)"),
               resolve=lambda id_: getattr(db.session.get(Contact, id_), "name", None))
describe_field("requester_name", _l("Requester's name"))
describe_field("requester_email", _l("Requester's e-mail"))
describe_field("requester_phone", _l("Requester's phone"))
describe_field("message_id", _l("Message"), resolve=lambda id_: f"#{id_}")
describe_field("merged_into_id", _l("Merged into"))
describe_field("merged_from_id", _l("Merged from"))
describe_field("sla_policy_id", _l("SLA policy"), resolve=lambda id_: getattr(db.session.get(SlaPolicy, id_),
                                                                            "localized_name", None))
describe_field("first_response_due_at", _l("First response due"), resolve=lambda value: format_datetime(
    datetime.fromisoformat(value), "short"))
describe_field("resolution_due_at", _l("Resolution due"), resolve=lambda value: format_datetime(
    datetime.fromisoformat(value), "short"))
describe_field("clock", _l("Clock"), {"first_response": _l("first response"), "resolution": _l("resolution")})
describe_field("reason", _l("Reason"), {"requester_replied": _l("the requester replied"),
                                        "requester_called": _l("the requester called")})

# Images that browsers show safely; everything else is downloaded.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
DOWNLOAD_TYPES = frozenset({"application/pdf", "text/plain", "text/csv", "application/zip",
                            "application/msword", "application/vnd.ms-excel",
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            "application/vnd.oasis.opendocument.text",
                            "application/vnd.oasis.opendocument.spreadsheet"})


def visible_ticket(number: int) -> Ticket:
    """The ticket, if the current user may see it; 404 otherwise."""
    return db.first_or_404(select(Ticket).where(Ticket.id == number, Ticket.visible_to(current_user)))


def uploads(field) -> list[Upload]:
    return [Upload(filename=item.filename, data=item.read(), content_type=item.mimetype or "")
            for item in (field.data or []) if getattr(item, "filename", "")]


# --- the inbox -------------------------------------------------------------------------------------

@bp.get("/inbox")
@staff_required
def index():
    if request.headers.get("X-Live") == "1":  # desk-live.js asks for the parts that change only
        return render_template("tickets/_inbox_live.html", **inbox_parts(request.args))
    # Opened without a sort (a tab, the menu), the inbox keeps the last one the agent used.
    if preferences.remember_sort(current_user, request.args.get("sort", "")):
        db.session.commit()
    shown = inbox_parts(request.args)
    return render_template(
        "tickets/inbox.html", **shown, live_after=live.last_event_id(), sorts=inbox.SORTS, bulk=_bulk_form(),
        columns_form=ColumnsForm(formdata=None, columns=list(shown["columns"]), next=request.full_path),
        labels=LABELS, bulk_tag=BulkTagForm(), councils=_council_choices(), staff=staff_choices(),
        enums={"status": TicketStatus, "priority": Priority, "category": Category, "channel": Channel})


def inbox_parts(args: Mapping[str, Any]) -> dict[str, Any]:
    """What the inbox's rows, tabs and total show for the query ``args`` (the page's, or one an open page
    sent to /live)."""
    query = inbox.InboxQuery.from_args(preferences.with_remembered_sort(args, current_user))
    page = paginate(inbox.statement(query, current_user), asked=str(args.get("page", "")))
    ids = [ticket.id for ticket in page.items]
    now = utcnow()
    return dict(page=page, query=query, columns=preferences.inbox_columns(current_user),
                column_labels=preferences.COLUMNS, unread=inbox.unread_ids(current_user, page.items),
                deadlines=clocks.deadlines(page.items, now), views=inbox.VIEWS,
                counts=inbox.view_counts(current_user, now), present=live.present(ids, now, current_user),
                tags=tags.tags_by_ticket(ids))


def _bulk_form() -> BulkForm:
    form = BulkForm()
    form.assignee.choices = [("", "—"), ("none", _("Nobody")), ("me", _("Me"))] + [
        (str(user.id), user.name) for user in staff_choices()]
    return form


@bp.post("/inbox/bulk")
@staff_required
def bulk():
    form = _bulk_form()
    back = safe_next(request.form.get("next") or url_for("tickets.index"))
    if not form.validate_on_submit():
        flash(_("The change could not be read: reload the page and try again."), "error")
        return redirect(back)
    if not form.tickets.data:
        flash(_("Tick at least one ticket."), "error")
        return redirect(back)
    if not (form.assignee.data or form.status.data or form.priority.data):
        flash(_("Choose what to change: assignee, status or priority."), "error")
        return redirect(back)
    tickets = db.session.scalars(select(Ticket).where(Ticket.id.in_(form.tickets.data),
                                                      Ticket.visible_to(current_user))).all()
    now, problems = utcnow(), []
    for ticket in tickets:
        try:
            if form.assignee.data:
                assignee = {"none": None, "me": current_user.id}.get(form.assignee.data,
                                                                      whole_number(form.assignee.data))
                assign(current_user, ticket, assignee, now)
            if form.priority.data and ticket.priority.value != form.priority.data:
                update_ticket(current_user, ticket, _changes(ticket, priority=Priority(form.priority.data)), now)
            if form.status.data and ticket.status.value != form.status.data:
                change_status(current_user, ticket, TicketStatus(form.status.data), now)
        except DomainError as error:
            problems.append(f"{ticket.reference}: {error.message}")
    if not problems:
        try:
            db.session.flush()
        except StaleDataError:
            problems.append(_("someone changed one of these tickets at the same moment"))
    if problems:
        db.session.rollback()
        flash(_("Nothing was changed. %(problems)s", problems=" · ".join(problems)), "error")
    else:
        db.session.commit()
        flash(_("%(count)d tickets updated.", count=len(tickets)), "success")
    return redirect(back)


def _changes(ticket: Ticket, **overrides) -> TicketChanges:
    values = dict(subject=ticket.subject, status=ticket.status, priority=ticket.priority, category=ticket.category,
                  council_id=ticket.council_id, instance_id=ticket.instance_id, assignee_id=ticket.assignee_id,
                  requester_name=ticket.requester_name, requester_email=ticket.requester_email or "",
                  requester_phone=ticket.requester_phone or "")
    values.update(overrides)
    return TicketChanges(**values)


def _council_choices() -> list[tuple[int, str]]:
    return list(db.session.execute(select(Council.id, Council.name).order_by(Council.name)).tuples())


def _instance_choices(council_id: int | None = None) -> list[tuple[str, str]]:
    """Instances to pick from: a council's own, or all of them (labelled with their council)."""
    statement = (select(PlatformInstance.id, PlatformInstance.base_url, Council.name).join(Council)
                 .order_by(PlatformInstance.base_url))
    if council_id:
        statement = statement.where(PlatformInstance.council_id == council_id)
    return [("", "—")] + [(str(id_), f"{url.removeprefix('https://')} ({name})")
                          for id_, url, name in db.session.execute(statement)]


# --- the councils' list and new tickets --------------------------------------------------------------

@bp.get("/tickets")
@login_required
def council_index():
    if current_user.is_staff:
        return redirect(url_for("tickets.index", **request.args))
    statement = select(Ticket).where(Ticket.visible_to(current_user)).order_by(Ticket.updated_at.desc(), Ticket.id.desc())
    page = paginate(statement)
    return render_template("tickets/council_index.html", page=page)


@bp.route("/tickets/new", methods=["GET", "POST"])
@login_required
def new():
    form = StaffTicketForm() if current_user.is_staff else NewTicketForm()
    if current_user.is_staff:
        form.council_id.choices = [("", "—")] + [(str(id_), name) for id_, name in _council_choices()]
        form.instance_id.choices = _instance_choices()
        form.requester_contact_id.choices = [("", "—")] + [
            (str(contact.id), f"{contact.name} ({contact.council.name})")
            for contact in db.session.scalars(select(Contact).join(Council).order_by(Contact.name))]
    else:
        form.instance_id.choices = _instance_choices(current_user.council_id)
    if form.validate_on_submit():
        data = TicketData(subject=form.subject.data, body=form.body.data, channel=Channel.WEB,
                          category=form.category.data, instance_id=form.instance_id.data,
                          attachments=uploads(form.attachments))
        if current_user.is_staff:
            data.channel, data.priority = form.channel.data, form.priority.data
            data.council_id, data.requester_contact_id = form.council_id.data, form.requester_contact_id.data
            data.requester_name = form.requester_name.data or ""
            data.requester_email = form.requester_email.data or ""
            data.requester_phone = form.requester_phone.data or ""
        try:
            ticket = open_ticket(current_user, data, utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Ticket %(reference)s opened.", reference=ticket.reference), "success")
            return redirect(url_for("tickets.show", number=ticket.id))
    return render_template("tickets/new.html", form=form), 422 if form.errors else 200


# --- the ticket page --------------------------------------------------------------------------------

@bp.get("/tickets/<int:number>")
@login_required
def show(number: int):
    ticket = visible_ticket(number)
    if current_user.is_staff:
        mark_read(current_user, ticket, utcnow())
        db.session.commit()
    return _page(ticket)


def _page(ticket: Ticket, status: int = 200, **forms):
    """The ticket page; ``forms`` replace the blank forms (to show one that failed, with its errors)."""
    messages = [message for message in ticket.messages
                if current_user.is_staff or message.is_visible_to_council]
    context = {"ticket": ticket, "messages": messages, "labels": LABELS, "visible_parts": visible_parts(messages),
               "deliveries": deliveries(messages) if current_user.is_staff else {}}
    if current_user.is_staff and ticket.sla_policy is not None:
        context["clocks"] = clocks.clocks(ticket, utcnow())
    if current_user.is_staff:
        reply = forms.get("reply") or ReplyForm(prefix="reply")
        replies = canned.active_replies()
        reply.canned_reply_id.choices = [("", "—")] + [(str(item.id), canned.display_title(item)) for item in replies]
        fields = forms.get("fields") or TicketFieldsForm(prefix="fields", obj=ticket, version=ticket.version,
                                                         requester_email=ticket.requester_email or "",
                                                         requester_phone=ticket.requester_phone or "")
        fields.council_id.choices = [("", "—")] + [(str(id_), name) for id_, name in _council_choices()]
        fields.instance_id.choices = _instance_choices(ticket.council_id)
        fields.assignee_id.choices = [("", _("Nobody"))] + [(str(user.id), user.name) for user in staff_choices()]
        call = forms.get("call") or call_form(CallLogForm, prefix="call", started_at=_local_now(),
                                              category=ticket.category.value, direction=CallDirection.INBOUND.value)
        note = forms.get("note") or NoteForm(prefix="note")
        drafts = live.drafts_of(current_user, ticket.id)
        if "reply" not in forms and live.DraftKind.REPLY in drafts:
            reply.body.data = drafts[live.DraftKind.REPLY]  # what was typed here or on another machine
        if "note" not in forms and live.DraftKind.NOTE in drafts:
            note.body.data = drafts[live.DraftKind.NOTE]
        context.update(live_after=live.last_event_id(), seen=max((message.id for message in messages), default=0),
                       present=live.present([ticket.id], utcnow(), current_user).get(ticket.id, []),
                       conflict=forms.get("conflict") or [])
        context.update(reply=reply, note=note, fields=fields, call=call,
                       merge=forms.get("merge") or MergeForm(prefix="merge"),
                       canned_texts={item.id: canned.render(item, ticket) for item in replies},
                       trail=audit.trail(ticket), contacts=ticket.council.contacts if ticket.council else [])
        context.update(ticket_context.sidebar(ticket, current_user, forms))  # tags, watchers, context beside
    else:
        context.update(reply=forms.get("reply") or CouncilReplyForm(prefix="reply"),
                       can_close=is_requester(current_user, ticket) and ticket.status is not TicketStatus.CLOSED)
    return render_template("tickets/show.html", **context), status


def visible_parts(messages: list[Message]) -> dict[int, str]:
    """For mail, the part a person wrote: quoted history and signatures folded away (the full text stays)."""
    parts = {}
    for message in messages:
        if message.kind is MessageKind.INBOUND and message.message_id and not message.body_html:
            visible = EmailReplyParser.parse_reply(message.body_text).strip()
            if visible and len(visible) < len(message.body_text.strip()):
                parts[message.id] = visible
    return parts


def deliveries(messages: list[Message]) -> dict[int, OutboxMessage]:
    """How the e-mail of each sent message is doing (queued, sent, failed…)."""
    ids = [message.id for message in messages if message.kind in (MessageKind.REPLY, MessageKind.ACKNOWLEDGEMENT)]
    if not ids:
        return {}
    return {item.related_id: item for item in db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.related_type == Message.__tablename__, OutboxMessage.related_id.in_(ids)))}


def _local_now():
    return utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).replace(tzinfo=None, second=0,
                                                                                   microsecond=0)


def _act(number: int, form, action, message: str, then: str | None = None):
    """Run ``action(ticket)`` and commit, then go back to the ticket (or ``then``). A concurrent change of
    the ticket is retried once with the ticket as it is now (adding a message never conflicts); a
    refusal is put on ``form`` and None returned, for the caller to show the page again."""
    for _attempt in range(2):
        ticket = visible_ticket(number)
        try:
            action(ticket)
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            continue
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
            return None
        flash(message, "success")
        return redirect(then or url_for("tickets.show", number=number))
    show_error(form, DomainError(_("Someone changed this ticket at the same moment. Nothing was saved: try again.")))
    return None


@bp.post("/tickets/<int:number>/reply")
@staff_required
def reply(number: int):
    visible_ticket(number)
    form = ReplyForm(prefix="reply")
    form.canned_reply_id.choices = [("", "—")] + [(str(item.id), canned.display_title(item))
                                                  for item in canned.active_replies()]
    if form.validate_on_submit():
        ticket = visible_ticket(number)
        seen = whole_number(request.form.get("seen", ""))  # the last message the page showed; none: not asked
        newer = live.written_since(ticket, seen, current_user) if seen is not None else []
        if newer and not request.form.get("send_anyway"):
            return _page(ticket, 409, reply=form, conflict=newer)  # ask first, showing what was written
        files = uploads(form.attachments)

        def send(ticket: Ticket) -> None:
            body = form.body.data or ""
            if not body.strip() and form.canned_reply_id.data:
                chosen = db.session.get(CannedReply, form.canned_reply_id.data)
                body = canned.render(chosen, ticket) if chosen else ""
            add_message(current_user, ticket, MessageKind.REPLY, body, utcnow(), files,
                        new_status=TicketStatus(form.then.data) if form.then.data else None)
            mark_read(current_user, ticket, utcnow())
            live.forget_draft(current_user, ticket.id, live.DraftKind.REPLY)

        done = _act(number, form, send, _("Reply added to %(reference)s.", reference=f"#{number}"))
        if done:
            return done
    return _page(visible_ticket(number), 422, reply=form)


@bp.post("/tickets/<int:number>/note")
@staff_required
def note(number: int):
    visible_ticket(number)
    form = NoteForm(prefix="note")
    if form.validate_on_submit():
        files = uploads(form.attachments)

        def write(ticket: Ticket) -> None:
            add_message(current_user, ticket, MessageKind.NOTE, form.body.data, utcnow(), files)
            mark_read(current_user, ticket, utcnow())
            live.forget_draft(current_user, ticket.id, live.DraftKind.NOTE)

        done = _act(number, form, write, _("Internal note added."))
        if done:
            return done
    return _page(visible_ticket(number), 422, note=form)


@bp.post("/tickets/<int:number>/message")
@login_required
def council_message(number: int):
    if current_user.is_staff:
        abort(403)  # staff reply with the reply form
    visible_ticket(number)
    form = CouncilReplyForm(prefix="reply")
    if form.validate_on_submit():
        files = uploads(form.attachments)
        done = _act(number, form, lambda ticket: add_message(current_user, ticket, MessageKind.INBOUND,
                                                             form.body.data, utcnow(), files),
                    _("Your message has been sent."))
        if done:
            return done
    return _page(visible_ticket(number), 422, reply=form)


@bp.post("/tickets/<int:number>/close")
@login_required
def close(number: int):
    visible_ticket(number)
    form = CouncilReplyForm(prefix="reply")
    done = _act(number, form, lambda ticket: change_status(current_user, ticket, TicketStatus.CLOSED, utcnow()),
                _("Ticket %(reference)s closed.", reference=f"#{number}"))
    if done:
        return done
    flash(" ".join(form.form_errors), "error")
    return redirect(url_for("tickets.show", number=number))


@bp.post("/tickets/<int:number>/fields")
@staff_required
def fields(number: int):
    ticket = visible_ticket(number)
    form = TicketFieldsForm(prefix="fields")
    form.council_id.choices = [("", "—")] + [(str(id_), name) for id_, name in _council_choices()]
    form.instance_id.choices = _instance_choices()
    form.assignee_id.choices = [("", "—")] + [(str(user.id), user.name) for user in staff_choices()]
    if form.validate_on_submit():
        version = whole_number(form.version.data)
        try:
            update_ticket(current_user, ticket, TicketChanges(
                subject=form.subject.data, status=form.status.data, priority=form.priority.data,
                category=form.category.data, council_id=form.council_id.data, instance_id=form.instance_id.data,
                assignee_id=form.assignee_id.data, requester_name=form.requester_name.data or "",
                requester_email=form.requester_email.data or "", requester_phone=form.requester_phone.data or ""),
                utcnow(), expected_version=version)
            db.session.flush()
        except (DomainError, StaleDataError) as error:
            db.session.rollback()
            show_error(form, error if isinstance(error, DomainError) else DomainError(
                _("Someone changed this ticket at the same moment. Nothing was saved: try again.")))
            # What this agent typed stays on the form; saving it again now overwrites knowingly.
            form.version.data = str(visible_ticket(number).version)
        else:
            db.session.commit()
            flash(_("Ticket %(reference)s saved.", reference=ticket.reference), "success")
            return redirect(url_for("tickets.show", number=number))
    return _page(visible_ticket(number), 409 if form.form_errors else 422, fields=form)


@bp.post("/tickets/<int:number>/assign-to-me")
@staff_required
def take(number: int):
    visible_ticket(number)
    form = MergeForm(prefix="take")  # only carries a refusal's message
    done = _act(number, form, lambda ticket: assign_to_me(current_user, ticket.id, utcnow()),
                _("Ticket %(reference)s is yours.", reference=f"#{number}"))
    if done:
        return done
    flash(" ".join(form.form_errors), "error")
    return redirect(url_for("tickets.show", number=number))


@bp.post("/tickets/<int:number>/merge")
@staff_required
def merge(number: int):
    ticket = visible_ticket(number)
    form = MergeForm(prefix="merge")
    if form.validate_on_submit():
        target_number = whole_number(form.target.data, "#")
        target = db.session.scalar(select(Ticket).where(Ticket.id == target_number, Ticket.visible_to(
            current_user))) if target_number is not None else None
        if target is None:
            show_error(form, DomainError(_("There is no ticket %(reference)s.",
                                           reference="#" + form.target.data.lstrip("#")), "target"))
        else:
            try:
                if not request.form.get("confirm"):  # first show both tickets side by side and ask
                    check_merge(current_user, ticket, target)
                    return render_template("tickets/merge_confirm.html", duplicate=ticket, target=target, form=form)
                merge_tickets(current_user, ticket, target, utcnow())
            except (DomainError, StaleDataError) as error:
                db.session.rollback()
                show_error(form, error if isinstance(error, DomainError) else DomainError(
                    _("Someone changed this ticket at the same moment. Nothing was saved: try again.")))
            else:
                db.session.commit()
                flash(_("%(duplicate)s merged into %(target)s.", duplicate=ticket.reference,
                        target=target.reference), "success")
                return redirect(url_for("tickets.show", number=target.id))
    return _page(visible_ticket(number), 422, merge=form)


@bp.post("/messages/<int:message_id>/delete")
@staff_required
def remove_message(message_id: int):
    message = db.first_or_404(select(Message).join(Ticket, Message.ticket_id == Ticket.id).where(
        Message.id == message_id, Ticket.visible_to(current_user)))
    delete_message(current_user, message, utcnow())
    db.session.commit()
    flash(_("The message has been hidden. It is kept in the ticket's history."), "success")
    return redirect(url_for("tickets.show", number=message.ticket_id))


@bp.post("/tickets/<int:number>/call")
@staff_required
def log_on_ticket(number: int):
    visible_ticket(number)
    form = call_form(CallLogForm, prefix="call")
    if form.validate_on_submit():
        def log(ticket: Ticket) -> None:
            log_call(current_user, call_data(form), utcnow(), ticket=ticket)
            mark_read(current_user, ticket, utcnow())

        done = _act(number, form, log, _("Call logged on %(reference)s.", reference=f"#{number}"))
        if done:
            return done
    return _page(visible_ticket(number), 422, call=form)


# --- attachments ------------------------------------------------------------------------------------

@bp.get("/attachments/<int:attachment_id>/<path:filename>")
@login_required
def attachment(attachment_id: int, filename: str):
    """Serve a file only to who may see its message; never as a page the browser would run."""
    found = db.first_or_404(select(Attachment).join(Message).join(Ticket, Message.ticket_id == Ticket.id)
                            .where(Attachment.id == attachment_id, Ticket.visible_to(current_user)))
    if not current_user.is_staff and not found.message.is_visible_to_council:
        abort(404)
    inline = found.content_type in INLINE_TYPES
    mimetype = found.content_type if inline or found.content_type in DOWNLOAD_TYPES else "application/octet-stream"
    response = send_file(blob_store().path(found.sha256), mimetype=mimetype, as_attachment=not inline,
                         download_name=found.filename, conditional=True, max_age=0)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@instance_section
def _open_tickets_section(instance, user):
    """The instance page lists its open tickets (those the user may see)."""
    tickets = db.session.scalars(select(Ticket).where(Ticket.instance_id == instance.id, Ticket.visible_to(user),
                                                      Ticket.status.in_(ACTIVE_STATUSES))
                                 .order_by(Ticket.id.desc()).limit(50)).all()
    return "tickets/_instance_section.html", {"tickets": tickets}


@instance_section
def _health_section(instance, user):
    """Staff see the instance's availability, the last 24 hours as a chart and its outages."""
    if not user.is_staff:
        return None
    now = utcnow()
    return "tickets/_health_section.html", {
        "availability": outages.availability(instance, now), "hours": outages.hourly(instance, now),
        "outages": outages.outages_of(instance, now - timedelta(days=90))}


@bp.get("/instances/status")
@staff_required
def instance_status():
    """Every active instance's health at a glance, the ones not answering first."""
    now = utcnow()
    instances = db.session.scalars(select(PlatformInstance).where(
        PlatformInstance.status == InstanceStatus.ACTIVE)).all()
    order = {"down": 0, "unknown": 1, "up": 2}
    rows = sorted(((item, outages.availability(item, now)["24h"]) for item in instances),
                  key=lambda row: (order.get(row[0].health, 1), row[0].host))
    return render_template("tickets/instance_status.html", rows=rows,
                           down=sum(item.health == "down" for item in instances), total=len(instances))


from helpdesk.tickets import tag_views  # noqa: E402,F401 (tags' and watchers' routes, on this blueprint)
