"""Sending webhooks: the scheduler's job (and ``helpdesk webhooks deliver``) posts what is due, signed, and
records each answer.

A run claims a delivery (``sending``, with one more attempt counted) in an UPDATE that only applies while it
is still waiting, and commits that claim before anything leaves, as the outbox does: of two runs at once
(the scheduler and the command line, or two schedulers) exactly one gets each delivery. A 2xx answer
delivers it. Anything else (another status, a refused connection, a timeout, an address now refused) waits
1, 2, 4 … minutes (at most four hours) for the next attempt, until WEBHOOK_MAX_ATTEMPTS; then it is
``failed``, kept in the log, and can be sent again by hand. A run that cannot reach a receiver does not
try that receiver's other deliveries in the same run: they wait as if they had failed the same way. If the
process dies while sending, the delivery stays ``sending`` and is marked ``uncertain`` later rather than
sent twice. A subscription failing for WEBHOOK_PAUSE_AFTER_HOURS, or with WEBHOOK_PAUSE_AFTER_FAILED
deliveries in a row out of attempts, is paused and its owner told by e-mail.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
from flask import current_app
from sqlalchemy import CursorResult, delete, or_, select, update

from helpdesk.core.errors import DomainError
from helpdesk.core.models import utcnow
from helpdesk.core.scheduling import Job
from helpdesk.extensions import db
from helpdesk.webhooks import addresses, mail, services, signing
from helpdesk.webhooks.models import (ERROR_MAX_LENGTH, RESPONSE_BODY_MAX_LENGTH, TEST_EVENT, DeliveryStatus,
                                      PauseReason, WebhookDelivery, WebhookSubscription)

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(hours=4)
STUCK_AFTER = timedelta(minutes=15)  # far beyond any timeout: the run that claimed it is gone
KEEP_DELIVERED = timedelta(days=90)  # delivered ones leave the log then; failed ones stay until sent again
USER_AGENT = "Participa311-Webhooks/1"


def backoff(attempts: int) -> timedelta:
    """How long a delivery waits after its ``attempts``-th failed attempt: 1, 2, 4 … minutes, at most MAX_BACKOFF."""
    return min(MAX_BACKOFF, timedelta(minutes=2 ** min(max(0, attempts - 1), 16)))


@dataclass
class Run:
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0
    paused: int = 0

    def __str__(self) -> str:
        return (f"delivered {self.delivered}, waiting to retry {self.retrying}, failed {self.failed}, "
                f"uncertain {self.uncertain}, subscriptions paused {self.paused}")


@dataclass
class Answer:
    status: int | None = None
    body: str = ""
    duration_ms: int | None = None
    error: str = ""
    unreachable: bool = False  # no answer at all: the receiver's other deliveries wait this run

    @property
    def is_success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def deliver_due(now: datetime | None = None, limit: int = 200, client: httpx.Client | None = None,
                resolver: addresses.Resolver = addresses.resolve) -> Run:
    """Send the deliveries that are due, committing each claim before sending and each outcome after
    (``resolver`` finds a receiver's addresses: the system's DNS unless a test gives its own answers)."""
    now = now or utcnow()
    run = Run()
    stuck = db.session.scalars(select(WebhookDelivery).where(WebhookDelivery.status == DeliveryStatus.SENDING,
                                                             WebhookDelivery.last_attempt_at < now - STUCK_AFTER))
    for abandoned in stuck:
        abandoned.status = DeliveryStatus.UNCERTAIN
        abandoned.error = "the sender stopped while sending: ask the receiver whether it arrived before sending again"
        run.uncertain += 1
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.status == DeliveryStatus.DELIVERED,
                                                     WebhookDelivery.delivered_at < now - KEEP_DELIVERED))
    db.session.commit()
    due = db.session.execute(select(WebhookDelivery.id, WebhookDelivery.subscription_id).join(
        WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id).where(
        WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now,
        or_(WebhookSubscription.is_active, WebhookDelivery.event == TEST_EVENT))
        .order_by(WebhookDelivery.id).limit(limit)).all()
    if not due:
        return run
    timeout = current_app.config["WEBHOOK_TIMEOUT_SECONDS"]
    own_client = client is None
    client = client or httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False, trust_env=False,
                                    headers={"User-Agent": USER_AGENT})
    unreachable: dict[int, Answer] = {}  # this run's receivers that gave no answer
    try:
        for delivery_id, subscription_id in due:
            if not _claim(delivery_id, now):
                continue  # another run took it, or it was paused meanwhile
            delivery = db.session.get(WebhookDelivery, delivery_id)
            if delivery is None:
                continue
            subscription = delivery.subscription
            earlier = unreachable.get(subscription_id)
            answer = (Answer(error=f"not tried, the receiver gave no answer in this run: {earlier.error}"[
                :ERROR_MAX_LENGTH], unreachable=True) if earlier else _post(client, delivery, subscription, now, resolver))
            if answer.unreachable:
                unreachable[subscription_id] = answer
            _record(delivery, subscription, answer, now, run)
            db.session.commit()
    finally:
        if own_client:
            client.close()
    return run


def _claim(delivery_id: int, now: datetime) -> bool:
    """Take one waiting delivery for this run, durably; False when another run has it."""
    claimed = cast(CursorResult[Any], db.session.execute(
        update(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.status == DeliveryStatus.PENDING,
            or_(WebhookDelivery.event == TEST_EVENT, WebhookDelivery.subscription_id.in_(
                select(WebhookSubscription.id).where(WebhookSubscription.is_active))))
        .values(status=DeliveryStatus.SENDING, attempts=WebhookDelivery.attempts + 1, last_attempt_at=now)
        .execution_options(synchronize_session=False)))
    db.session.commit()
    return bool(claimed.rowcount)


def _describe(error: BaseException) -> str:
    return (f"{error.__class__.__name__}: {error}" if str(error) else error.__class__.__name__)[:ERROR_MAX_LENGTH]


def _post(client: httpx.Client, delivery: WebhookDelivery, subscription: WebhookSubscription, now: datetime,
          resolver: addresses.Resolver) -> Answer:
    """One attempt: the address checked again and connected to, the body signed with the time of sending, the
    answer read up to what the log keeps."""
    config = current_app.config
    timeout = config["WEBHOOK_TIMEOUT_SECONDS"]
    parts = urlsplit(subscription.url)
    host = (parts.hostname or "").rstrip(".")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = addresses.check_host(host, port, config, resolver)
    except DomainError as error:
        return Answer(error=str(error.message)[:ERROR_MAX_LENGTH], unreachable=True)
    body = delivery.body.encode("utf-8")
    timestamp = int(time.time())  # the receiver's clock judges it, not the run's (which tests move)
    headers = {"Content-Type": "application/json", "Host": parts.netloc, "Accept-Encoding": "identity",
               signing.EVENT_HEADER: delivery.event, signing.DELIVERY_HEADER: delivery.uuid,
               signing.HEADER: signing.header(services.signing_keys(subscription, now), timestamp, body)}
    started = time.monotonic()
    # The connection goes to an address just checked, not to whatever the name resolves to a moment later (a
    # name whose DNS answers change between the check and the connection would reach inside otherwise): the
    # URL names the address, the Host header and TLS (SNI and the certificate's check) the name. IPv4 first,
    # then the next address when one refuses the connection, as the system's own connecting would.
    refused: httpx.ConnectError | None = None
    for address in sorted(found, key=lambda text: ":" in text):
        pinned = address.replace("%", "%25")
        target = parts._replace(netloc=f"[{pinned}]:{port}" if ":" in pinned else f"{pinned}:{port}").geturl()
        try:
            return _send(client, target, host, body, headers, started, timeout)
        except httpx.ConnectError as error:
            refused = error
    return Answer(duration_ms=_since(started), unreachable=True, error=_describe(refused or OSError()))


def _send(client: httpx.Client, target: str, host: str, body: bytes, headers: dict[str, str], started: float,
          timeout: int) -> Answer:
    """One POST to one address; a refused connection is raised, for the caller to try the next address."""
    try:
        with client.stream("POST", target, content=body, headers=headers,
                           extensions={"sni_hostname": host}) as response:
            kept = bytearray()
            # Raw bytes (never inflated: a small gzip can unpack to gigabytes), at most what the log keeps,
            # for at most the timeout in all: a receiver trickling its answer does not hold the run.
            for chunk in response.iter_raw():
                kept += chunk
                if len(kept) >= RESPONSE_BODY_MAX_LENGTH * 4 or time.monotonic() - started > timeout:
                    break
            text = kept.decode(response.encoding or "utf-8", errors="replace")[:RESPONSE_BODY_MAX_LENGTH]
            return Answer(status=response.status_code, body=text, duration_ms=_since(started),
                          error="" if 200 <= response.status_code < 300 else f"HTTP {response.status_code}")
    except httpx.ConnectError:
        raise  # the next address may take it
    except httpx.TimeoutException as error:
        return Answer(duration_ms=_since(started), unreachable=True,
                      error=f"no answer within {timeout} s ({_describe(error)})")
    except (httpx.HTTPError, OSError) as error:
        return Answer(duration_ms=_since(started), unreachable=True, error=_describe(error))


def _since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def _record(delivery: WebhookDelivery, subscription: WebhookSubscription, answer: Answer, now: datetime,
            run: Run) -> None:
    delivery.response_status, delivery.response_body = answer.status, answer.body
    delivery.duration_ms, delivery.error = answer.duration_ms, answer.error
    is_test = delivery.event == TEST_EVENT
    if answer.is_success:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, utcnow()
        if not is_test:
            subscription.failing_since, subscription.failed_in_a_row = None, 0
        run.delivered += 1
        return
    config = current_app.config
    if is_test or delivery.attempts >= config["WEBHOOK_MAX_ATTEMPTS"]:
        delivery.status = DeliveryStatus.FAILED  # a test is tried once: its answer is what the administrator wants
        run.failed += 1
    else:
        delivery.status, delivery.next_attempt_at = DeliveryStatus.PENDING, now + backoff(delivery.attempts)
        run.retrying += 1
    if is_test:
        return
    subscription.failing_since = subscription.failing_since or now
    if delivery.status is DeliveryStatus.FAILED:
        subscription.failed_in_a_row += 1
    failing_too_long = now - subscription.failing_since >= timedelta(hours=config["WEBHOOK_PAUSE_AFTER_HOURS"])
    if subscription.is_active and (failing_too_long
                                   or subscription.failed_in_a_row >= config["WEBHOOK_PAUSE_AFTER_FAILED"]):
        services.pause(None, subscription, now, PauseReason.FAILING)
        mail.tell_paused(subscription, answer.error, now)
        run.paused += 1
        log.warning("webhooks: subscription %d paused, its deliveries keep failing: %s", subscription.id, answer.error)


def deliver() -> Run:
    """The scheduler's job."""
    return deliver_due()


JOBS = [Job("webhooks", deliver, seconds=20)]
