"""Delivering to a real loopback receiver: a receiver down for a while (refusing connections, then answering
500) gets its delivery once it is back, exactly once, after waits that double; two runs at once never send
one delivery twice; a subscription that keeps failing is paused and its owner mailed; a failed delivery is
sent again; a rotated secret signs beside the former one for a day; redirects and private addresses are
refused at sending time too."""
from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import delete, select

from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from helpdesk.webhooks import services
from helpdesk.webhooks.jobs import STUCK_AFTER, deliver_due
from helpdesk.webhooks.models import (RESPONSE_BODY_MAX_LENGTH, DeliveryStatus, PauseReason, WebhookDelivery,
                                      WebhookSubscription)
from tests import factories
from tests.webhooks.receiver import signature_is_valid


def only_delivery() -> WebhookDelivery:
    [delivery] = db.session.scalars(select(WebhookDelivery)).all()
    return delivery


def test_a_receiver_down_for_a_while_gets_the_delivery_once_after_doubling_waits(app, subscription, receiver):
    receiver.stop()  # nothing listens: connections are refused
    factories.ticket(subject="La plataforma no carrega")
    start = utcnow()
    run = deliver_due(start)
    delivery = only_delivery()
    assert (run.retrying, delivery.status, delivery.attempts) == (1, DeliveryStatus.PENDING, 1)
    assert "ConnectError" in delivery.error and delivery.response_status is None
    assert delivery.next_attempt_at == start + timedelta(minutes=1)
    assert deliver_due(start + timedelta(seconds=59)).retrying == 0  # not due yet: not tried

    receiver.mode = "error500"
    receiver.start()
    deliver_due(start + timedelta(minutes=1))
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.PENDING, 2, 500)
    assert delivery.response_body == "busy" and delivery.error == "HTTP 500"
    assert delivery.next_attempt_at == start + timedelta(minutes=1 + 2)
    deliver_due(start + timedelta(minutes=3))
    assert only_delivery().next_attempt_at == start + timedelta(minutes=3 + 4)

    receiver.mode = "ok"
    assert deliver_due(start + timedelta(minutes=7)).delivered == 1
    delivery = only_delivery()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (DeliveryStatus.DELIVERED, 4, 200)
    assert delivery.duration_ms is not None and delivery.response_body == '{"ok": true}'
    for later in (8, 60, 600):
        deliver_due(start + timedelta(minutes=later))
    assert [item.delivery for item in receiver.taken] == [delivery.uuid]  # exactly once
    assert [item.answered for item in receiver.received] == [500, 500, 200]
    assert db.session.get(WebhookSubscription, subscription.id).failing_since is None  # the success cleared it


def test_two_runs_at_once_never_send_one_delivery_twice(app, subscription, receiver):
    for number in range(12):
        factories.ticket(subject=f"Consulta {number}")
    errors = []

    def run():
        try:
            with app.app_context():
                deliver_due(utcnow())
                db.session.remove()
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(error)
    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(item.payload["record"]["subject"] for item in receiver.taken) == sorted(
        f"Consulta {number}" for number in range(12))
    assert len({item.delivery for item in receiver.received}) == len(receiver.received) == 12


def test_a_subscription_that_keeps_failing_is_paused_and_its_owner_told(app, subscription, receiver, admin):
    app.config.update(WEBHOOK_MAX_ATTEMPTS=3, WEBHOOK_PAUSE_AFTER_FAILED=2)
    receiver.mode = "error500"
    factories.ticket(subject="Primer")
    factories.ticket(subject="Segon")
    now = utcnow()
    for minutes in (0, 1, 3):
        deliver_due(now + timedelta(minutes=minutes))
    statuses = [item.status for item in db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))]
    assert statuses == [DeliveryStatus.FAILED, DeliveryStatus.FAILED]  # kept in the log, not lost
    paused = db.session.get(WebhookSubscription, subscription.id)
    assert not paused.is_active and paused.pause_reason is PauseReason.FAILING
    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_addresses == admin.email)).all()
    assert mail.subject == f"Webhook paused: {receiver.url}"
    assert "HTTP 500" in mail.body_text and f"/admin/webhooks/{subscription.id}" in mail.body_text

    factories.ticket(subject="Mentre està aturada")  # paused: nothing written, nothing sent
    receiver.mode = "ok"
    deliver_due(now + timedelta(hours=1))
    assert receiver.taken == [] and len(db.session.scalars(select(WebhookDelivery)).all()) == 2


def test_failing_for_a_day_pauses_too(app, subscription, receiver):
    receiver.stop()
    factories.ticket(subject="Primer")
    now = utcnow()
    deliver_due(now)
    assert db.session.get(WebhookSubscription, subscription.id).is_active
    factories.ticket(subject="L'endemà")
    deliver_due(now + timedelta(hours=24, minutes=1))
    subscription = db.session.get(WebhookSubscription, subscription.id)
    assert not subscription.is_active and subscription.pause_reason is PauseReason.FAILING
    assert db.session.scalar(select(OutboxMessage).where(OutboxMessage.subject.contains("Webhook paused")))


def test_a_failed_delivery_is_sent_again_with_its_id_and_a_fresh_signature(app, subscription, receiver, admin):
    app.config["WEBHOOK_MAX_ATTEMPTS"] = 1
    receiver.mode = "error500"
    factories.ticket(subject="Tornar a enviar")
    deliver_due()
    delivery = only_delivery()
    assert delivery.status is DeliveryStatus.FAILED
    receiver.mode = "ok"
    services.send_again(admin, delivery, utcnow())
    db.session.commit()
    assert deliver_due().delivered == 1
    [again] = receiver.taken
    assert again.delivery == delivery.uuid and again.payload["record"]["subject"] == "Tornar a enviar"


def test_a_rotated_secret_signs_beside_the_former_one_for_a_day(app, subscription, receiver, admin):
    former = receiver.secret
    receiver.secret = services.rotate_secret(admin, subscription, utcnow())
    db.session.commit()
    factories.ticket()
    deliver_due()
    [item] = receiver.taken  # checked with the new secret
    delivery = only_delivery()
    keys = services.signing_keys(subscription, utcnow())
    assert keys == [receiver.secret, former]
    assert services.signing_keys(subscription, utcnow() + timedelta(days=1, minutes=1)) == [receiver.secret]
    assert delivery.status is DeliveryStatus.DELIVERED and item.signed


def test_a_delivery_cut_short_is_marked_uncertain_not_sent_twice(app, subscription, receiver):
    factories.ticket()
    delivery = only_delivery()
    claimed_at = utcnow()
    delivery.status, delivery.attempts, delivery.last_attempt_at = DeliveryStatus.SENDING, 1, claimed_at
    db.session.commit()  # as a run that died after its claim leaves it
    assert deliver_due(claimed_at + STUCK_AFTER + timedelta(seconds=1)).uncertain == 1
    assert only_delivery().status is DeliveryStatus.UNCERTAIN and receiver.received == []


def test_redirects_are_not_followed_and_private_addresses_are_refused_when_sending(app, subscription, receiver):
    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *_args):
            pass

        def do_POST(self):  # noqa: N802
            self.send_response(307)
            self.send_header("Location", receiver.url)
            self.send_header("Content-Length", "0")
            self.end_headers()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        subscription.url = f"http://127.0.0.1:{server.server_port}/moved"
        db.session.commit()
        factories.ticket()
        deliver_due()
    finally:
        server.shutdown()
        server.server_close()
    delivery = only_delivery()
    assert (delivery.response_status, delivery.status) == (307, DeliveryStatus.PENDING) and receiver.received == []

    app.config["WEBHOOK_PRIVATE_NETWORKS"] = ""  # the setting changed since the subscription was saved
    subscription = db.session.get(WebhookSubscription, subscription.id)
    subscription.url = receiver.url
    delivery.next_attempt_at = utcnow()
    db.session.commit()
    deliver_due()
    delivery = only_delivery()
    assert "private network" in delivery.error or "xarxa privada" in delivery.error
    assert delivery.attempts == 2 and receiver.received == []


def test_the_desk_connects_to_the_address_it_checked_not_to_a_later_answer_of_the_dns(app, subscription, receiver):
    # Saved while its name pointed outside; at sending time the check's resolution is the one connected to
    # (the name itself resolves nowhere, so a second look-up by the HTTP client could not reach the receiver).
    app.config["WEBHOOK_HTTP_HOSTS"] = "hooks.example.org"
    subscription.url = f"http://hooks.example.org:{receiver.port}/hooks/participa311"
    db.session.commit()
    factories.ticket()
    # 127.0.0.2 refuses (the receiver listens on 127.0.0.1 only): the next address checked takes it.
    assert deliver_due(resolver=lambda host, port: ["127.0.0.2", "127.0.0.1"]).delivered == 1
    [taken] = receiver.taken
    assert taken.host == f"hooks.example.org:{receiver.port}"  # the receiver sees its own name

    factories.ticket()
    deliver_due(resolver=lambda host, port: ["10.0.0.5"])  # the name now points inside
    delivery = db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id.desc())).first()
    assert delivery.status is DeliveryStatus.PENDING and "10.0.0.5" in delivery.error
    assert len(receiver.received) == 1


def test_a_receivers_endless_or_slow_answer_is_read_only_so_far(app, subscription, receiver):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 1
    receiver.mode = "huge"  # 64 KiB chunks without end
    factories.ticket()
    assert deliver_due().delivered == 1
    assert only_delivery().response_body == "x" * RESPONSE_BODY_MAX_LENGTH
    db.session.execute(delete(WebhookDelivery))
    db.session.commit()

    receiver.mode = "trickle"  # a byte now and then, each well within the timeout, without end
    factories.ticket()
    assert deliver_due().delivered == 1
    kept = only_delivery().response_body
    assert 0 < len(kept) < RESPONSE_BODY_MAX_LENGTH  # it stopped at the timeout, long before the log was full


def test_the_command_sends_what_is_due(app, subscription, receiver):
    factories.ticket()
    result = app.test_cli_runner().invoke(args=["webhooks", "deliver"])
    assert result.exit_code == 0, result.output
    assert "delivered 1" in result.output
    assert len(receiver.taken) == 1


def test_the_signature_is_refused_when_old_or_altered(app):
    from helpdesk.webhooks import signing
    body = b'{"id": "x"}'
    header = signing.header(["whsec_a"], 1_000_000, body)
    assert signature_is_valid(header, body, "whsec_a", now=1_000_000 + 299)
    assert signing.verify(header, body, "whsec_a", now=1_000_000 + 299)
    for check in (signature_is_valid, signing.verify):
        assert not check(header, body, "whsec_a", now=1_000_000 + 301)  # a replay, more than 5 minutes later
        assert not check(header, body + b" ", "whsec_a", now=1_000_000)
        assert not check(header, body, "whsec_b", now=1_000_000)


def test_the_scheduler_runs_the_delivery_job():
    from helpdesk.scheduler import all_jobs
    assert "webhooks" in [job.name for job in all_jobs()]
