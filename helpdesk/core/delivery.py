"""Delivery a person checks: a message left ``uncertain`` (the sender stopped while sending it) is never
resent by itself, since it may have arrived; an administrator looks at the recipient's side and either
marks it sent or sends it again. The screen (Status → Check delivery) and ``helpdesk mail outbox`` both
go through these functions.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select

from helpdesk.core import audit
from helpdesk.core.audit import Actor
from helpdesk.core.errors import DomainError
from helpdesk.core.outbox import OutboxMessage, OutboxStatus
from helpdesk.core.templating import DELIVERY_STATES
from helpdesk.extensions import db

AUDITED = ("status", "sent_at", "next_attempt_at", "last_error")


class NotUncertain(DomainError):
    """Only a message whose delivery is uncertain can be marked sent or sent again by hand."""


def to_check(with_failed_and_deferred: bool = False) -> Select[Any]:
    """The messages whose delivery is uncertain, most recently tried first; with the flag, also those
    refused for good and those waiting after a failed attempt."""
    wanted = OutboxMessage.status == OutboxStatus.UNCERTAIN
    if with_failed_and_deferred:
        wanted = or_(wanted, OutboxMessage.status == OutboxStatus.FAILED,
                     (OutboxMessage.status == OutboxStatus.PENDING) & (OutboxMessage.attempts > 0))
    # A claimed message's next_attempt_at is when it was claimed: for these, when it was last tried.
    return select(OutboxMessage).where(wanted).order_by(OutboxMessage.next_attempt_at.desc(),
                                                        OutboxMessage.id.desc())


def _check_uncertain(message: OutboxMessage) -> None:
    if message.status is not OutboxStatus.UNCERTAIN:
        raise NotUncertain(_l("Message %(id)d is not waiting for a check (it is %(status)s): nothing was changed.",
                              id=message.id, status=DELIVERY_STATES[message.status.value]))


def mark_sent(actor: Actor | None, message: OutboxMessage, now: datetime) -> None:
    """Record that an uncertain message did arrive: it is sent, and never goes out again."""
    _check_uncertain(message)
    before = audit.snapshot(message, AUDITED)
    # It left during the attempt that was cut short, not when someone checked.
    message.status, message.sent_at, message.last_error = OutboxStatus.SENT, message.next_attempt_at, ""
    audit.record(actor, "marked_sent", message, audit.diff(before, audit.snapshot(message, AUDITED)))
    db.session.flush()


def send_again(actor: Actor | None, message: OutboxMessage, now: datetime) -> None:
    """Put an uncertain message back in the queue, due now (with its Message-ID, so a copy that did
    arrive is recognisable as the same message)."""
    _check_uncertain(message)
    before = audit.snapshot(message, AUDITED)
    message.status, message.next_attempt_at, message.last_error = OutboxStatus.PENDING, now, ""
    audit.record(actor, "sent_again", message, audit.diff(before, audit.snapshot(message, AUDITED)))
    db.session.flush()
