"""Councils and contacts: lists, pages and forms."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from helpdesk.auth.access import roles_required, staff_required
from helpdesk.auth.models import Role
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import id_argument, show_error
from helpdesk.core.pagination import paginate
from helpdesk.core.templating import describe_field
from helpdesk.core.validation import display_phone, split_list
from helpdesk.councils.forms import ContactForm, CouncilForm
from helpdesk.councils.models import COUNCIL_KIND_LABELS, Contact, Council, CouncilDomain, CouncilKind
from helpdesk.councils.services import ContactData, CouncilData, create_council, save_contact, update_council
from helpdesk.extensions import db

bp = Blueprint("councils", __name__)

describe_field("kind", _l("Kind"), COUNCIL_KIND_LABELS)
describe_field("ine_code", _l("INE code"))
describe_field("notes", _l("Notes"))
describe_field("email_domains", _l("E-mail domains"))
describe_field("phone_numbers", _l("Phone numbers"))
describe_field("position", _l("Position"))
describe_field("phone", _l("Phone"))
describe_field("is_technical_referent", _l("Municipal technical referent"))


def council_filed_for() -> Council | None:
    """The council a request is being filed for: the user's own, or (staff filing on a council's behalf)
    the one chosen in the form or named in the address."""
    if not current_user.is_staff:
        return db.session.get(Council, current_user.council_id)
    council_id = id_argument(request.form, "council_id") or id_argument(request.args, "council_id")
    return db.session.get(Council, council_id) if council_id else None


def council_choices(council: Council | None) -> list[tuple[int, str]]:
    """The choices of a form's council field: every council for staff, their own for a council user."""
    if not current_user.is_staff:
        return [(council.id, council.name)]
    return [(0, "—")] + [(id_, name) for id_, name in db.session.execute(
        select(Council.id, Council.name).order_by(Council.name))]


def visible_council(council_id: int) -> Council:
    """The council, if the current user may see it; 404 otherwise (another council's record is not there)."""
    return db.first_or_404(select(Council).where(Council.id == council_id, Council.visible_to(current_user)))


@bp.get("/councils")
@staff_required
def index():
    query = request.args.get("q", "").strip()
    kind = request.args.get("kind", "")
    statement = select(Council).order_by(Council.name, Council.id)
    if query:
        pattern = f"%{query.lower()}%"
        statement = statement.where(or_(
            func.lower(Council.name).like(pattern), Council.ine_code.like(f"{query}%"),
            Council.id.in_(select(CouncilDomain.council_id).where(CouncilDomain.domain.like(pattern)))))
    if kind in {item.value for item in CouncilKind}:
        statement = statement.where(Council.kind == CouncilKind(kind))
    page = paginate(statement)
    return render_template("councils/index.html", page=page, query=query, kind=kind, kinds=list(CouncilKind))


@bp.route("/councils/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new():
    form = CouncilForm()
    if form.validate_on_submit():
        try:
            council = create_council(current_user, _council_data(form))
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Council %(name)s created.", name=council.name), "success")
            return redirect(url_for("councils.show", council_id=council.id))
    return render_template("councils/form.html", form=form, council=None)


@bp.get("/councils/<int:council_id>")
@login_required
def show(council_id: int):
    council = visible_council(council_id)
    trail = audit.trail(council) if current_user.is_staff else []
    return render_template("councils/show.html", council=council, trail=trail)


@bp.route("/councils/<int:council_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(council_id: int):
    council = visible_council(council_id)
    form = CouncilForm(obj=council) if request.method == "GET" else CouncilForm()
    if request.method == "GET":
        form.email_domains.data = "\n".join(council.email_domains)
        form.phone_numbers.data = "\n".join(display_phone(number) for number in council.phone_numbers)
    if form.validate_on_submit():
        try:
            update_council(current_user, council, _council_data(form))
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Council %(name)s saved.", name=council.name), "success")
            return redirect(url_for("councils.show", council_id=council.id))
    return render_template("councils/form.html", form=form, council=council)


def _council_data(form: CouncilForm) -> CouncilData:
    return CouncilData(name=form.name.data, kind=form.kind.data, ine_code=form.ine_code.data,
                       email_domains=split_list(form.email_domains.data),
                       phone_numbers=[line.strip() for line in (form.phone_numbers.data or "").splitlines()
                                      if line.strip()],
                       notes=form.notes.data or "")


@bp.route("/councils/<int:council_id>/contacts/new", methods=["GET", "POST"])
@login_required
def new_contact(council_id: int):
    council = visible_council(council_id)
    if not council.can_edit_contacts(current_user):
        abort(403)
    form = ContactForm()
    if form.validate_on_submit():
        return _save_contact(form, council, None) or render_template(
            "councils/contact_form.html", form=form, council=council, contact=None)
    return render_template("councils/contact_form.html", form=form, council=council, contact=None)


@bp.route("/contacts/<int:contact_id>", methods=["GET", "POST"])
@login_required
def edit_contact(contact_id: int):
    contact = db.first_or_404(select(Contact).join(Council).where(Contact.id == contact_id,
                                                                  Council.visible_to(current_user)))
    if not contact.can_edit(current_user):
        abort(403)
    form = ContactForm(obj=contact) if request.method == "GET" else ContactForm()
    if request.method == "GET" and contact.phone:
        form.phone.data = display_phone(contact.phone)
    if form.validate_on_submit():
        response = _save_contact(form, contact.council, contact)
        if response:
            return response
    trail = audit.trail(contact) if current_user.is_staff else []
    return render_template("councils/contact_form.html", form=form, council=contact.council, contact=contact,
                           trail=trail)


def _save_contact(form: ContactForm, council: Council, contact: Contact | None):
    data = ContactData(name=form.name.data, position=form.position.data or "", email=form.email.data or "",
                       phone=form.phone.data or "", is_technical_referent=form.is_technical_referent.data,
                       language=form.language.data or "",
                       receives_platform_notices=bool(form.receives_platform_notices.data))
    try:
        contact = save_contact(current_user, council, data, contact)
    except DomainError as error:
        db.session.rollback()
        show_error(form, error)
        return None
    db.session.commit()
    flash(_("Contact %(name)s saved.", name=contact.name), "success")
    return redirect(url_for("councils.show", council_id=council.id))
