"""Administrators' screens for canned replies: each written in Catalan and, optionally, Spanish and English."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import StringField, TextAreaField
from wtforms.validators import Length

from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error, strip
from helpdesk.core.templating import describe_field
from helpdesk.extensions import db
from helpdesk.tickets.canned import (OTHER_LANGUAGES, TITLE_MAX_LENGTH, display_title, save_canned_reply, text_in,
                                     texts_of)
from helpdesk.tickets.forms import CannedReplyForm
from helpdesk.tickets.models import BODY_MAX_LENGTH, CannedReply

bp = Blueprint("canned", __name__, url_prefix="/admin/canned-replies")

LANGUAGE_NAMES = {"ca": _l("Catalan"), "es": _l("Spanish"), "en": _l("English")}
describe_field("title_es", _l("Title (Spanish)"))
describe_field("body_es", _l("Text (Spanish)"))
describe_field("title_en", _l("Title (English)"))
describe_field("body_en", _l("Text (English)"))


class TranslatedCannedReplyForm(CannedReplyForm):
    """The canned reply form with the Spanish and English versions (optional: empty shows the Catalan)."""

    title_es = StringField(_l("Title"), validators=[Length(max=TITLE_MAX_LENGTH)], filters=[strip])
    body_es = TextAreaField(_l("Text"), validators=[Length(max=BODY_MAX_LENGTH)])
    title_en = StringField(_l("Title"), validators=[Length(max=TITLE_MAX_LENGTH)], filters=[strip])
    body_en = TextAreaField(_l("Text"), validators=[Length(max=BODY_MAX_LENGTH)])


@bp.get("/")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    language = str(get_locale() or "ca")
    # Each reply in the reader's language (or Catalan), with the languages it is written in.
    rows = [(reply, *text_in(reply, language), list(texts_of(reply)))
            for reply in db.session.scalars(select(CannedReply).order_by(CannedReply.title))]
    return render_template("tickets/canned_index.html", rows=rows)


@bp.route("/new", methods=["GET", "POST"], defaults={"reply_id": None})
@bp.route("/<int:reply_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(reply_id: int | None) -> ResponseReturnValue:
    reply = db.get_or_404(CannedReply, reply_id) if reply_id else None
    form = TranslatedCannedReplyForm(obj=reply) if request.method == "GET" and reply else TranslatedCannedReplyForm()
    if request.method == "GET" and reply is not None:
        for language, (title, body) in texts_of(reply).items():
            if language in OTHER_LANGUAGES:
                form[f"title_{language}"].data, form[f"body_{language}"].data = title, body
    if form.validate_on_submit():
        translations = {language: (form[f"title_{language}"].data or "", form[f"body_{language}"].data or "")
                        for language in OTHER_LANGUAGES}
        try:
            reply = save_canned_reply(current_user, form.title.data or "", form.body.data or "", form.is_active.data,
                                      reply, translations=translations)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Canned reply “%(title)s” saved.", title=display_title(reply)), "success")
            return redirect(url_for("canned.index"))
    return render_template("tickets/canned_form.html", form=form, reply=reply, languages=LANGUAGE_NAMES,
                           reply_title=display_title(reply) if reply else None,
                           trail=audit.trail(reply) if reply else []), 422 if form.errors else 200
