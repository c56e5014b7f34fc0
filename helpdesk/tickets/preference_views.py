"""Saving an agent's choice of inbox columns (the sort is remembered by the inbox itself, as it is used)."""
from __future__ import annotations

from flask import flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from helpdesk.auth.access import staff_required
from helpdesk.core.errors import DomainError
from helpdesk.core.views import safe_next
from helpdesk.extensions import db
from helpdesk.tickets import preferences
from helpdesk.tickets.preference_forms import ColumnsForm
from helpdesk.tickets.views import bp


@bp.post("/inbox/columns")
@staff_required
def choose_columns() -> ResponseReturnValue:
    """Keep the ticked columns as this agent's, then back to the inbox as it was."""
    form = ColumnsForm()
    back = safe_next(form.next.data or url_for("tickets.index"))
    if not form.validate_on_submit():
        flash(_("The columns could not be saved: reload the page and try again."), "error")
        return redirect(back)
    try:
        preferences.choose_inbox_columns(current_user, form.columns.data or [])
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(back)
    db.session.commit()
    flash(_("Columns saved."), "success")
    return redirect(back)
