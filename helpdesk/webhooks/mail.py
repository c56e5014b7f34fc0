"""The e-mail a subscription's owner gets when the desk pauses it (template in ``templates/emails/webhooks/``,
in the owner's language); with no active owner, the active administrators get it."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.core import emails
from helpdesk.core.urls import base_url
from helpdesk.councils import recipients
from helpdesk.extensions import db
from helpdesk.webhooks.models import WebhookSubscription

AUTOMATIC = {"Auto-Submitted": "auto-generated"}

PAUSED = emails.register(
    "webhooks/paused",
    trigger=_l("The desk paused a webhook subscription because its deliveries kept failing (for "
               "WEBHOOK_PAUSE_AFTER_HOURS, or WEBHOOK_PAUSE_AFTER_FAILED deliveries in a row out of attempts)"),
    recipients=_l("The administrator who made the subscription (or, if that account is no longer active, every "
                  "active administrator)"),
    sample=lambda: {"name": "Marta Puig", "url": "https://integracions.example.org/participa311/webhooks",
                    "description": "Gestor d'expedients", "error": "HTTP 503",
                    "failing_since": datetime(2027, 3, 1, 10, 30, tzinfo=timezone.utc),
                    "hours": 24, "failed": 5, "link": f"{base_url()}/admin/webhooks/1"})


def tell_paused(subscription: WebhookSubscription, error: str, now: datetime) -> None:
    """Queue the e-mail saying the desk paused ``subscription`` and why, to its owner in their language."""
    owner = subscription.owner
    people = [owner] if owner is not None and owner.is_active else list(db.session.scalars(
        select(User).where(User.role == Role.ADMIN, User.is_active).order_by(User.id)))
    config = current_app.config
    for person in people:
        context = {"name": person.name, "url": subscription.url, "description": subscription.description,
                   "error": error or "—", "failing_since": subscription.failing_since or now,
                   "hours": config["WEBHOOK_PAUSE_AFTER_HOURS"], "failed": config["WEBHOOK_PAUSE_AFTER_FAILED"],
                   "link": f"{base_url()}/admin/webhooks/{subscription.id}"}
        recipients.send(PAUSED, recipients.language_of(person.email, user=person), [person.email], context,
                        headers=AUTOMATIC, related=subscription)
