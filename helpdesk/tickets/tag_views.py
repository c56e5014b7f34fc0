"""Tags and watchers on the tickets blueprint: completion, tagging a ticket or the inbox's selection, watching."""
from __future__ import annotations

from flask import flash, jsonify, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from helpdesk.auth.access import staff_required
from helpdesk.auth.models import User
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.models import utcnow
from helpdesk.core.templating import ACTION_LABELS, describe_field
from helpdesk.core.views import safe_next
from helpdesk.extensions import db
from helpdesk.tickets import tags, watchers
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import staff_choices
from helpdesk.tickets.tag_forms import BulkTagForm, TagForm, WatcherForm
from helpdesk.tickets.views import _page, bp, visible_ticket

ACTION_LABELS.setdefault("tagged", _l("added a tag"))
ACTION_LABELS.setdefault("untagged", _l("removed a tag"))
ACTION_LABELS.setdefault("watcher_added", _l("added a watcher"))
ACTION_LABELS.setdefault("watcher_removed", _l("removed a watcher"))
describe_field("tag", _l("Tag"))
describe_field("watcher_id", _l("Watcher"), resolve=lambda id_: getattr(db.session.get(User, id_), "name", None))


@bp.get("/tags/complete")
@staff_required
def complete_tags():
    """Tags in use starting with ``q`` (JSON), for the tag fields' completion."""
    return jsonify(tags.complete(request.args.get("q", "")[:200]))


@bp.post("/tickets/<int:number>/tags")
@staff_required
def add_tag(number: int):
    ticket = visible_ticket(number)
    form = TagForm(prefix="tag")
    if form.validate_on_submit():
        try:
            added = tags.tag_tickets(current_user, [ticket], form.tag.data or "", utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            name = tags.normalise(form.tag.data or "")
            flash(_("Tagged “%(tag)s”.", tag=name) if added else _("The ticket already had the tag “%(tag)s”.",
                                                                     tag=name), "success")
            return redirect(url_for("tickets.show", number=number, _anchor="tags-title"))
    return _page(visible_ticket(number), 422, tag=form)


@bp.post("/tickets/<int:number>/tags/remove")
@staff_required
def remove_tag(number: int):
    ticket = visible_ticket(number)
    form = TagForm(prefix="untag")
    if form.validate_on_submit():
        try:
            tags.untag_tickets(current_user, [ticket], form.tag.data or "")
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Tag “%(tag)s” removed.", tag=tags.normalise(form.tag.data or "")), "success")
    else:
        flash(_("The change could not be read: reload the page and try again."), "error")
    return redirect(url_for("tickets.show", number=number, _anchor="tags-title"))


@bp.post("/inbox/bulk-tag")
@staff_required
def bulk_tag():
    """Add or remove a tag on the inbox's ticked tickets: on all of them, or, if any is refused, on none."""
    form = BulkTagForm()
    back = safe_next(request.form.get("next") or url_for("tickets.index"))
    if not form.validate_on_submit():
        flash(_("The change could not be read: reload the page and try again."), "error")
        return redirect(back)
    wanted = list(dict.fromkeys(form.tickets.data or []))
    if not wanted:
        flash(_("Tick at least one ticket."), "error")
        return redirect(back)
    if not (form.bulk_tag.data or "").strip():
        flash(_("Write the tag to add or remove."), "error")
        return redirect(back)
    found = db.session.scalars(select(Ticket).where(Ticket.id.in_(wanted), Ticket.visible_to(current_user))
                               .order_by(Ticket.id)).all()
    missing = sorted(set(wanted) - {ticket.id for ticket in found})
    try:
        if missing:
            raise DomainError(_("there is no ticket %(references)s", references=", ".join(f"#{n}" for n in missing)))
        if form.bulk_tag_operation.data == "remove":
            changed = tags.untag_tickets(current_user, found, form.bulk_tag.data or "")
        else:
            changed = tags.tag_tickets(current_user, found, form.bulk_tag.data or "", utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(_("Nothing was changed. %(problems)s", problems=error.message), "error")
        return redirect(back)
    db.session.commit()
    name = tags.normalise(form.bulk_tag.data or "")
    message = (_("Tag “%(tag)s” removed from %(count)d tickets.", tag=name, count=len(changed))
               if form.bulk_tag_operation.data == "remove"
               else _("Tag “%(tag)s” added to %(count)d tickets.", tag=name, count=len(changed)))
    flash(message, "success")
    return redirect(back)


def _change_watcher(number: int, person: User | None, add: bool):
    ticket = visible_ticket(number)
    try:
        if person is None:
            raise DomainError(_("Choose a colleague."), "user_id")
        changed = (watchers.watch(current_user, ticket, person, utcnow()) if add
                   else watchers.unwatch(current_user, ticket, person))
    except DomainError as error:
        db.session.rollback()
        return error
    db.session.commit()
    if person.id == current_user.id:
        flash(_("You are watching this ticket.") if add else _("You no longer watch this ticket."), "success")
    elif changed:
        flash(_("%(name)s now watches this ticket.", name=person.name) if add
              else _("%(name)s no longer watches this ticket.", name=person.name), "success")
    return None


@bp.post("/tickets/<int:number>/watch")
@staff_required
def watch(number: int):
    # (CSRF is checked for every POST by the app; this form carries nothing else.)
    if error := _change_watcher(number, current_user._get_current_object(), add=True):
        flash(error.message, "error")
    return redirect(url_for("tickets.show", number=number, _anchor="watchers-title"))


@bp.post("/tickets/<int:number>/unwatch")
@staff_required
def unwatch(number: int):
    if error := _change_watcher(number, current_user._get_current_object(), add=False):
        flash(error.message, "error")
    return redirect(url_for("tickets.show", number=number, _anchor="watchers-title"))


@bp.post("/tickets/<int:number>/watchers")
@staff_required
def add_watcher(number: int):
    """The assignee adds a colleague as watcher."""
    visible_ticket(number)
    form = WatcherForm(prefix="watcher")
    form.user_id.choices = [("", "—")] + [(str(user.id), user.name) for user in staff_choices()]
    if form.validate_on_submit():
        error = _change_watcher(number, db.session.get(User, form.user_id.data), add=True)
        if error is None:
            return redirect(url_for("tickets.show", number=number, _anchor="watchers-title"))
        show_error(form, error)
    return _page(visible_ticket(number), 422, watcher=form)


@bp.post("/tickets/<int:number>/watchers/<int:user_id>/remove")
@staff_required
def remove_watcher(number: int, user_id: int):
    if error := _change_watcher(number, db.session.get(User, user_id), add=False):
        flash(error.message, "error")
    return redirect(url_for("tickets.show", number=number, _anchor="watchers-title"))
