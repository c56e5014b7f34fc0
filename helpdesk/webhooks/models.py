"""Webhook subscriptions (an address other systems listen at, the events it wants, its secret) and the
deliveries written for them, one per event and subscription, in the transaction of the change."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import User
from helpdesk.core.models import UTCDateTime, enum_type, utcnow
from helpdesk.extensions import Model

URL_MAX_LENGTH = 2000
DESCRIPTION_MAX_LENGTH = 200
RESPONSE_BODY_MAX_LENGTH = 2000  # what the log keeps of a receiver's answer
ERROR_MAX_LENGTH = 500
TEST_EVENT = "webhook.test"  # the administrator's "send a test event": never subscribed to, always allowed
#: The events a subscription may choose, each with what makes the desk send it.
EVENTS = {
    "ticket.created": _l("A ticket is opened (on the desk, by e-mail, by phone or by the monitor)"),
    "ticket.updated": _l("A ticket's fields change (subject, priority, category, council, platform, requester, "
                         "assignee)"),
    "ticket.status_changed": _l("A ticket's status changes"),
    "message.added": _l("A message is added to a ticket (a reply, an internal note, the council's message)"),
    "outage.opened": _l("The monitor opens an outage of a platform"),
    "outage.recovered": _l("A platform answers again after an outage"),
    "catalogue_request.decided": _l("A catalogue request is granted or refused"),
    "grant.expiring": _l("A grant nears its end (with each renewal reminder)"),
    "session.booked": _l("An accompaniment session is booked"),
}


class PauseReason(enum.Enum):
    BY_HAND = "by_hand"  # an administrator paused it
    FAILING = "failing"  # the desk paused it: its deliveries kept failing (its owner was told)


class DeliveryStatus(enum.Enum):
    PENDING = "pending"  # waiting for its (next) attempt
    SENDING = "sending"  # claimed by a run, which committed the claim before sending
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # every attempt failed: kept in the log, can be sent again
    UNCERTAIN = "uncertain"  # the sender stopped while sending: never resent by itself, it may have arrived

    @property
    def label(self) -> str:
        return str(DELIVERY_LABELS[self])


DELIVERY_LABELS = {
    DeliveryStatus.PENDING: _l("waiting"),
    DeliveryStatus.SENDING: _l("sending"),
    DeliveryStatus.DELIVERED: _l("delivered"),
    DeliveryStatus.FAILED: _l("failed"),
    DeliveryStatus.UNCERTAIN: _l("uncertain: check with the receiver"),
}


class WebhookSubscription(Model):
    __tablename__ = "webhook_subscriptions"
    AUDITED = ("url", "description", "events", "is_active", "pause_reason")

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(URL_MAX_LENGTH))
    description: Mapped[str] = mapped_column(String(DESCRIPTION_MAX_LENGTH), default="")
    events: Mapped[list[str]] = mapped_column(JSON, default=list)  # names from helpdesk.webhooks.events.EVENTS
    # Sealed with SECRET_KEY (core/sealing.py): the desk signs with it, so it cannot be a one-way hash.
    secret_sealed: Mapped[str] = mapped_column(Text)
    # After a rotation the former secret signs too, for a day, so a receiver can switch without losing events.
    previous_secret_sealed: Mapped[str] = mapped_column(Text, default="")
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    pause_reason: Mapped[PauseReason | None] = mapped_column(enum_type(PauseReason))
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Since when every attempt failed (None after a success), and how many deliveries in a row used up
    # their attempts: either pauses the subscription (WEBHOOK_PAUSE_AFTER_HOURS, WEBHOOK_PAUSE_AFTER_FAILED).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_in_a_row: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner = relationship(User, lazy="joined")

    def wants(self, event: str) -> bool:
        return self.is_active and event in self.events


class WebhookDelivery(Model):
    __tablename__ = "webhook_deliveries"
    # The job picks what is due; the log pages through one subscription's deliveries, newest first.
    __table_args__ = (Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
                      Index("ix_webhook_deliveries_subscription_id_id", "subscription_id", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)  # the payload's id: receivers drop repeats by it
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)  # the JSON as sent, written with the change: the record as it was then
    status: Mapped[DeliveryStatus] = mapped_column(enum_type(DeliveryStatus), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_status: Mapped[int | None]
    response_body: Mapped[str] = mapped_column(Text, default="")
    duration_ms: Mapped[int | None]
    error: Mapped[str] = mapped_column(String(ERROR_MAX_LENGTH), default="")

    subscription = relationship(WebhookSubscription, lazy="joined")
