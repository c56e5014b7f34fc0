"""Administrators' privacy pages: what the desk holds on a contact or a user, download it, erase it."""
from __future__ import annotations

import json

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role, User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.core.templating import ACTION_LABELS, describe_field
from helpdesk.councils.models import Contact
from helpdesk.extensions import db
from helpdesk.privacy.forms import EraseForm, ExportForm
from helpdesk.privacy.services import (account_with_address, export_person, is_pseudonym, pseudonymise_contact,
                                       pseudonymise_user, summary)

bp = Blueprint("privacy", __name__, url_prefix="/admin/privacy")

# The trail names these actions like the others (core's table is open to each domain, as describe_field is).
ACTION_LABELS.setdefault("personal_data_exported", _l("downloaded the personal data"))
ACTION_LABELS.setdefault("personal_data_pseudonymised", _l("erased the personal data (pseudonymised)"))
ACTION_LABELS.setdefault("requester_pseudonymised", _l("pseudonymised the requester (retention period over)"))
describe_field("pseudonym", _l("Pseudonym"))
describe_field("reason", _l("Reason"))

KIND_LABELS = {
    "contacts": _l("Contact records"), "tickets": _l("Tickets they asked for"),
    "messages": _l("Messages they wrote"), "calls": _l("Phone calls from their number"),
    "catalog_requests": _l("Catalogue requests"), "accompaniment_sessions": _l("Accompaniment sessions"),
    "held_mail": _l("Mail held for an administrator"), "mail_sent": _l("E-mails sent to them"),
}


def _page(record: Contact | User, kind: str, erase: EraseForm | None = None) -> str:
    expected = _expected(record)
    return render_template("privacy/person.html", record=record, kind=kind, counts=summary(record),
                           labels=KIND_LABELS, export=ExportForm(), erase=erase or EraseForm(), expected=expected,
                           erased=is_pseudonym(record.email) if record.email else is_pseudonym(record.name),
                           account=account_with_address(record.email) if kind == "contact" and record.email
                           else None, trail=audit.trail(record))


def _expected(record: Contact | User) -> str:
    return record.email or record.name


def _download(record: Contact | User, kind: str) -> Response:
    data = export_person(current_user, record)
    db.session.commit()  # the audit row that says it was downloaded
    return Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=personal-data-{kind}-{record.id}.json"})


def _erase(record: Contact | User, kind: str, form: EraseForm) -> ResponseReturnValue:
    if not form.validate_on_submit():
        return _page(record, kind, form), 400
    if not form.confirms(_expected(record)):
        form.confirmation.errors = [_("What you typed is not %(value)s: nothing was erased.", value=_expected(record))]
        return _page(record, kind, form), 400
    try:
        erasure = (pseudonymise_contact(current_user, record) if isinstance(record, Contact)
                   else pseudonymise_user(current_user, record))
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        return _page(record, kind, form), 400
    db.session.commit()
    flash(_("Personal data erased: the records now name %(pseudonym)s.", pseudonym=erasure.pseudonym), "success")
    return redirect(url_for(f"privacy.{kind}", **{f"{kind}_id": record.id}))


@bp.get("/contacts/<int:contact_id>")
@roles_required(Role.ADMIN)
def contact(contact_id: int) -> ResponseReturnValue:
    return _page(db.get_or_404(Contact, contact_id), "contact")


@bp.post("/contacts/<int:contact_id>/export")
@roles_required(Role.ADMIN)
def export_contact(contact_id: int) -> ResponseReturnValue:
    record = db.get_or_404(Contact, contact_id)
    if not ExportForm().validate_on_submit():
        return redirect(url_for("privacy.contact", contact_id=contact_id))
    return _download(record, "contact")


@bp.post("/contacts/<int:contact_id>/erase")
@roles_required(Role.ADMIN)
def erase_contact(contact_id: int) -> ResponseReturnValue:
    return _erase(db.get_or_404(Contact, contact_id), "contact", EraseForm())


@bp.get("/users/<int:user_id>")
@roles_required(Role.ADMIN)
def user(user_id: int) -> ResponseReturnValue:
    return _page(db.get_or_404(User, user_id), "user")


@bp.post("/users/<int:user_id>/export")
@roles_required(Role.ADMIN)
def export_user(user_id: int) -> ResponseReturnValue:
    record = db.get_or_404(User, user_id)
    if not ExportForm().validate_on_submit():
        return redirect(url_for("privacy.user", user_id=user_id))
    return _download(record, "user")


@bp.post("/users/<int:user_id>/erase")
@roles_required(Role.ADMIN)
def erase_user(user_id: int) -> ResponseReturnValue:
    return _erase(db.get_or_404(User, user_id), "user", EraseForm())
