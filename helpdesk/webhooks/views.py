"""Administrators' webhook screens: the subscriptions, one subscription with its delivery log, the forms."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select

from helpdesk.auth.access import roles_required
from helpdesk.auth.models import Role
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import ConfirmForm, show_error
from helpdesk.core.models import utcnow
from helpdesk.core.pagination import paginate
from helpdesk.core.templating import ACTION_LABELS, describe_field
from helpdesk.extensions import db
from helpdesk.webhooks import events as _events  # noqa: F401 (listens for what the other domains announce)
from helpdesk.webhooks import mail as _mail  # noqa: F401 (registers its e-mail, for the administrators' previews)
from helpdesk.webhooks import services
from helpdesk.webhooks.forms import SubscriptionForm
from helpdesk.webhooks.models import EVENTS, TEST_EVENT, DeliveryStatus, PauseReason, WebhookDelivery, \
    WebhookSubscription

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")
RESENDABLE = (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED, DeliveryStatus.UNCERTAIN)

ACTION_LABELS.update({
    "secret_rotated": _l("gave the subscription a new secret"),
    "subscription_paused": _l("paused the subscription"),
    "subscription_resumed": _l("resumed the subscription"),
    "delivery_sent_again": _l("sent a delivery again"),
})
describe_field("events", _l("Events"))
describe_field("pause_reason", _l("Paused"), {PauseReason.BY_HAND: _l("by hand"),
                                              PauseReason.FAILING: _l("its deliveries kept failing")})


def _subscription(subscription_id: int) -> WebhookSubscription:
    return db.get_or_404(WebhookSubscription, subscription_id)


def _data(form: SubscriptionForm) -> services.SubscriptionData:
    return services.SubscriptionData(url=form.url.data or "", events=list(form.events.data or []),
                                     description=form.description.data or "")


@bp.get("/")
@roles_required(Role.ADMIN)
def index() -> ResponseReturnValue:
    page = paginate(select(WebhookSubscription).order_by(WebhookSubscription.id.desc()))
    ids = [item.id for item in page.items]
    counts: dict[int, dict[str, int]] = {}
    if ids:
        for subscription_id, status, count in db.session.execute(
                select(WebhookDelivery.subscription_id, WebhookDelivery.status, func.count()).where(
                    WebhookDelivery.subscription_id.in_(ids),
                    WebhookDelivery.status.in_([DeliveryStatus.PENDING, DeliveryStatus.FAILED,
                                                DeliveryStatus.UNCERTAIN]))
                .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)):
            counts.setdefault(subscription_id, {})[status.value] = count
    return render_template("webhooks/index.html", page=page, counts=counts, events=EVENTS)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new() -> ResponseReturnValue:
    form = SubscriptionForm()
    if form.validate_on_submit():
        try:
            subscription, secret = services.create_subscription(current_user, _data(form), utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            return _secret_page(subscription, secret, first=True)
    return render_template("webhooks/form.html", form=form, subscription=None), 422 if form.errors else 200


@bp.route("/<int:subscription_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit(subscription_id: int) -> ResponseReturnValue:
    subscription = _subscription(subscription_id)
    form = SubscriptionForm(obj=subscription) if not SubscriptionForm().is_submitted() else SubscriptionForm()
    if form.validate_on_submit():
        try:
            changed = services.update_subscription(current_user, subscription, _data(form), utcnow())
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Subscription saved.") if changed else _("Nothing changed."), "success")
            return redirect(url_for("webhooks.show", subscription_id=subscription.id))
    return render_template("webhooks/form.html", form=form, subscription=subscription), 422 if form.errors else 200


@bp.get("/<int:subscription_id>")
@roles_required(Role.ADMIN)
def show(subscription_id: int) -> ResponseReturnValue:
    subscription = _subscription(subscription_id)
    page = paginate(select(WebhookDelivery).where(WebhookDelivery.subscription_id == subscription.id)
                    .order_by(WebhookDelivery.id.desc()))
    return render_template("webhooks/show.html", subscription=subscription, page=page, events=EVENTS,
                           action=ConfirmForm(), resendable=RESENDABLE, trail=audit.trail(subscription),
                           test_event=TEST_EVENT, failing=PauseReason.FAILING)


def _act(subscription_id: int, act: Callable[[Any, WebhookSubscription, datetime], object],
         done: str) -> ResponseReturnValue:
    subscription = _subscription(subscription_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        act(current_user, subscription, utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("webhooks.show", subscription_id=subscription_id))


@bp.post("/<int:subscription_id>/pause")
@roles_required(Role.ADMIN)
def pause(subscription_id: int) -> ResponseReturnValue:
    return _act(subscription_id, services.pause,
                _("Subscription paused: no events are sent to it until it is resumed."))


@bp.post("/<int:subscription_id>/resume")
@roles_required(Role.ADMIN)
def resume(subscription_id: int) -> ResponseReturnValue:
    return _act(subscription_id, services.resume,
                _("Subscription resumed: events are sent to it again, the waiting ones first."))


@bp.post("/<int:subscription_id>/test")
@roles_required(Role.ADMIN)
def send_test(subscription_id: int) -> ResponseReturnValue:
    return _act(subscription_id, services.send_test,
                _("Test event queued: it goes out within a minute and its answer shows in the log below."))


@bp.post("/<int:subscription_id>/secret")
@roles_required(Role.ADMIN)
def rotate(subscription_id: int) -> ResponseReturnValue:
    subscription = _subscription(subscription_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    secret = services.rotate_secret(current_user, subscription, utcnow())
    db.session.commit()
    return _secret_page(subscription, secret, first=False)


def _secret_page(subscription: WebhookSubscription, secret: str, first: bool) -> ResponseReturnValue:
    response = make_response(render_template("webhooks/secret.html", subscription=subscription, secret=secret,
                                             first=first))
    response.headers["Cache-Control"] = "no-store"  # the secret is on this page, once: no cache keeps it
    return response


@bp.post("/<int:subscription_id>/deliveries/<int:delivery_id>/send-again")
@roles_required(Role.ADMIN)
def send_again(subscription_id: int, delivery_id: int) -> ResponseReturnValue:
    delivery = db.session.scalar(select(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                                               WebhookDelivery.subscription_id == subscription_id))
    if delivery is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.send_again(current_user, delivery, utcnow())
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        db.session.commit()
        flash(_("Delivery queued again: it goes out within a minute.") if delivery.subscription.is_active or
              delivery.event == TEST_EVENT else
              _("Delivery queued again: it goes out once the subscription is resumed."), "success")
    return redirect(url_for("webhooks.show", subscription_id=subscription_id))
