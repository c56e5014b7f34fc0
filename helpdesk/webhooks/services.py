"""The rules of webhooks: administrators subscribe an address to events, pause, resume, rotate its secret,
send a test event or a delivery again; each event the desk announces becomes one delivery per subscription
that wants it, written in the transaction of the change (nothing for a change rolled back, nothing lost
for one committed). Nothing here talks to the network: ``jobs.py`` sends. Flush, audit, never commit."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.api import representations
from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed, Problems
from helpdesk.core.models import transaction_cache
from helpdesk.core.sealing import seal, unseal
from helpdesk.extensions import db
from helpdesk.webhooks import addresses, signing
from helpdesk.webhooks.models import (DESCRIPTION_MAX_LENGTH, EVENTS, TEST_EVENT, DeliveryStatus, PauseReason,
                                      WebhookDelivery, WebhookSubscription)

PREVIOUS_SECRET_DAYS = 1  # how long the former secret still signs after a rotation


@dataclass
class SubscriptionData:
    url: str
    events: list[str] = field(default_factory=list)
    description: str = ""


def require_admin(actor: User | None) -> None:
    """Administrators (or the command line, ``actor`` None) only."""
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators manage webhooks."))


def _clean(data: SubscriptionData) -> tuple[str, list[str], str]:
    problems: list[DomainError] = []
    url = ""
    try:
        url = addresses.check_url(data.url, current_app.config)
    except DomainError as error:
        problems.append(error)
    events = [name for name in EVENTS if name in set(data.events)]  # in the list's order, each once
    if not events or len(events) != len(set(data.events)):
        problems.append(DomainError(_l("Choose at least one event.") if not events
                                    else _l("Choose events from the list."), "events"))
    description = " ".join(data.description.split())
    if len(description) > DESCRIPTION_MAX_LENGTH:
        problems.append(DomainError(_l("The description is too long (at most %(count)d characters).",
                                       count=DESCRIPTION_MAX_LENGTH), "description"))
    Problems.raise_if_any(problems)
    return url, events, description


def _secret_key() -> str:
    return str(current_app.config["SECRET_KEY"])


def create_subscription(actor: User | None, data: SubscriptionData, now: datetime) -> tuple[WebhookSubscription, str]:
    """Subscribe an address; the subscription and its secret, which is shown this once."""
    require_admin(actor)
    url, events, description = _clean(data)
    secret = signing.new_secret()
    subscription = WebhookSubscription(url=url, events=events, description=description,
                                       secret_sealed=seal(secret, _secret_key()), owner=actor, is_active=True,
                                       created_at=now, updated_at=now)
    db.session.add(subscription)
    db.session.flush()
    audit.record(actor, "created", subscription,
                 audit.diff({}, audit.snapshot(subscription, WebhookSubscription.AUDITED)))
    return subscription, secret


def update_subscription(actor: User | None, subscription: WebhookSubscription, data: SubscriptionData,
                        now: datetime) -> bool:
    """Change the address, the events or the description; True when something changed."""
    require_admin(actor)
    url, events, description = _clean(data)
    before = audit.snapshot(subscription, WebhookSubscription.AUDITED)
    subscription.url, subscription.events, subscription.description = url, events, description
    changes = audit.diff(before, audit.snapshot(subscription, WebhookSubscription.AUDITED))
    if changes:
        subscription.updated_at = now
        audit.record(actor, "updated", subscription, changes)
    db.session.flush()
    return bool(changes)


def rotate_secret(actor: User | None, subscription: WebhookSubscription, now: datetime) -> str:
    """A new secret, shown this once; the former one signs too for a day, so the receiver can switch."""
    require_admin(actor)
    secret = signing.new_secret()
    subscription.previous_secret_sealed = subscription.secret_sealed
    subscription.previous_secret_until = now + timedelta(days=PREVIOUS_SECRET_DAYS)
    subscription.secret_sealed = seal(secret, _secret_key())
    subscription.updated_at = now
    audit.record(actor, "secret_rotated", subscription)
    db.session.flush()
    return secret


def signing_keys(subscription: WebhookSubscription, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the former one for a day after a rotation."""
    keys = [unseal(subscription.secret_sealed, _secret_key())]
    if subscription.previous_secret_sealed and subscription.previous_secret_until is not None \
            and now < subscription.previous_secret_until:
        keys.append(unseal(subscription.previous_secret_sealed, _secret_key()))
    return keys


def _set_active(actor: User | None, subscription: WebhookSubscription, is_active: bool,
                reason: PauseReason | None, now: datetime) -> None:
    before = audit.snapshot(subscription, WebhookSubscription.AUDITED)
    subscription.is_active, subscription.pause_reason = is_active, reason
    subscription.paused_at = None if is_active else now
    if is_active:  # a fresh start: the failures before the pause do not count against it again
        subscription.failing_since, subscription.failed_in_a_row = None, 0
    subscription.updated_at = now
    audit.record(actor, "subscription_resumed" if is_active else "subscription_paused", subscription,
                 audit.diff(before, audit.snapshot(subscription, WebhookSubscription.AUDITED)))
    db.session.flush()


def pause(actor: User | None, subscription: WebhookSubscription, now: datetime,
          reason: PauseReason = PauseReason.BY_HAND) -> None:
    """Stop sending: no new deliveries are written, those waiting wait until it is resumed."""
    if actor is not None:
        require_admin(actor)
    if not subscription.is_active:
        raise DomainError(_l("This subscription is already paused."))
    _set_active(actor, subscription, False, reason, now)


def resume(actor: User | None, subscription: WebhookSubscription, now: datetime) -> None:
    """Send again: new events are delivered, and so are those that waited meanwhile."""
    require_admin(actor)
    if subscription.is_active:
        raise DomainError(_l("This subscription is not paused."))
    _set_active(actor, subscription, True, None, now)


def send_again(actor: User | None, delivery: WebhookDelivery, now: datetime) -> None:
    """Put a delivery back in the queue, due now, with its attempts counted afresh (the same body and id, so a
    receiver that got it before recognises it)."""
    require_admin(actor)
    if delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.SENDING):
        raise DomainError(_l("This delivery is already waiting to be sent."))
    before = delivery.status.value
    delivery.status, delivery.next_attempt_at, delivery.attempts = DeliveryStatus.PENDING, now, 0
    audit.record(actor, "delivery_sent_again", delivery.subscription,
                 {"delivery": {"before": None, "after": delivery.uuid}, "status": {"before": before, "after": "pending"}})
    db.session.flush()


def send_test(actor: User | None, subscription: WebhookSubscription, now: datetime) -> WebhookDelivery:
    """Queue a test event to the subscription, paused or not (to try a receiver before resuming it)."""
    require_admin(actor)
    record = {"subscription": {"id": subscription.id, "url": subscription.url},
              "message": "A test event sent from the Participa311 support desk."}
    return _deliver(subscription, TEST_EVENT, actor, now, {"record": record})


# --- events ---------------------------------------------------------------------------------------------

def _actor(actor: User | None) -> dict[str, Any] | None:
    return {"id": actor.id, "name": actor.name} if actor is not None else None


def _plain(value: Any) -> Any:
    """What json cannot write by itself (a representation should give none of these; a date is safe anyway)."""
    return audit.plain(value) if not isinstance(value, (set, frozenset)) else sorted(value)


def _deliver(subscription: WebhookSubscription, event: str, actor: User | None, now: datetime,
             content: dict[str, Any]) -> WebhookDelivery:
    identifier = str(uuid.uuid4())
    payload = {"id": identifier, "event": event, "occurred_at": representations.moment(now), "actor": _actor(actor), **content}
    delivery = WebhookDelivery(uuid=identifier, subscription_id=subscription.id, event=event,
                               body=json.dumps(payload, ensure_ascii=False, default=_plain),
                               status=DeliveryStatus.PENDING, created_at=now, next_attempt_at=now)
    db.session.add(delivery)
    return delivery


def subscribed(event: str) -> list[WebhookSubscription]:
    """The active subscriptions that want ``event``, asked once per transaction (mail intake opens many
    tickets in one)."""
    cache = transaction_cache("webhook_subscriptions")
    if "active" not in cache:
        with db.session.no_autoflush:
            cache["active"] = list(db.session.scalars(select(WebhookSubscription).where(
                WebhookSubscription.is_active).order_by(WebhookSubscription.id)))
    return [subscription for subscription in cache["active"] if subscription.wants(event)]


def queue_event(event: str, actor: User | None, now: datetime, content: Any) -> list[WebhookDelivery]:
    """One delivery of ``event`` to each subscription that wants it, in the current transaction. ``content``
    gives the payload's ``record`` (and any other keys), called only when someone listens."""
    wanting = subscribed(event)
    if not wanting:
        return []
    built = content() if callable(content) else content
    return [_deliver(subscription, event, actor, now, built) for subscription in wanting]
