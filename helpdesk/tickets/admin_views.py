"""Administrators' screens for canned replies."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import show_error
from helpdesk.extensions import db
from helpdesk.tickets.canned import save_canned_reply
from helpdesk.tickets.forms import CannedReplyForm
from helpdesk.tickets.models import CannedReply

bp = Blueprint("canned", __name__, url_prefix="/admin/canned-replies")


@bp.get("/")
@roles_required(Role.ADMIN)
def index():
    replies = db.session.scalars(select(CannedReply).order_by(CannedReply.title)).all()
    return render_template("tickets/canned_index.html", replies=replies)


@bp.route("/new", methods=["GET", "POST"], defaults={"reply_id": None})
@bp.route("/<int:reply_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(reply_id: int | None):
    reply = db.get_or_404(CannedReply, reply_id) if reply_id else None
    form = CannedReplyForm(obj=reply) if request.method == "GET" and reply else CannedReplyForm()
    if form.validate_on_submit():
        try:
            reply = save_canned_reply(current_user, form.title.data, form.body.data, form.is_active.data, reply)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Canned reply “%(title)s” saved.", title=reply.title), "success")
            return redirect(url_for("canned.index"))
    return render_template("tickets/canned_form.html", form=form, reply=reply,
                           trail=audit.trail(reply) if reply else []), 422 if form.errors else 200
