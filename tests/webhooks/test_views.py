"""The administrators' screens: subscribing (the secret shown once), refusals next to the field (schemes,
credentials, private networks), the list and the delivery log over several pages, send again, test event,
pause and resume; nobody but administrators sees or manages subscriptions."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from helpdesk.auth.models import Role, User
from helpdesk.core.models import utcnow
from helpdesk.core.sealing import unseal
from helpdesk.extensions import db
from helpdesk.webhooks import services
from helpdesk.webhooks.jobs import deliver_due
from helpdesk.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from tests import factories
from tests.pages import error_after, text


@pytest.fixture
def signed_in(client, admin):
    client.login(admin.email, factories.PASSWORD)
    client.get("/admin/webhooks/")  # a page of the signed-in session: its forms' token
    return client


def test_an_administrator_subscribes_and_sees_the_secret_once(signed_in, admin, receiver):
    page = text(signed_in.get("/admin/webhooks/new"))
    assert "A ticket is opened" in page  # events named for people
    response = signed_in.submit("/admin/webhooks/new", {"url": receiver.url, "description": "Gestor d'expedients",
                                                        "events": ["ticket.created", "message.added"]})
    page = text(response)
    assert response.status_code == 200 and f"Subscribed {receiver.url}." in page
    assert response.headers["Cache-Control"] == "no-store"  # no browser or proxy cache keeps the secret
    secret = re.search(r'<code id="secret">([^<]+)</code>', page).group(1)
    subscription = db.session.scalar(select(WebhookSubscription))
    assert unseal(subscription.secret_sealed, signed_in.application.config["SECRET_KEY"]) == secret
    assert subscription.events == ["ticket.created", "message.added"] and subscription.owner_id == admin.id
    shown = text(signed_in.get(f"/admin/webhooks/{subscription.id}"))
    assert secret not in shown and "Gestor d'expedients" in shown
    assert secret not in text(signed_in.get(f"/admin/webhooks/{subscription.id}/edit"))

    rotation = signed_in.submit(f"/admin/webhooks/{subscription.id}/secret")
    assert rotation.headers["Cache-Control"] == "no-store"
    rotated = text(rotation)
    new_secret = re.search(r'<code id="secret">([^<]+)</code>', rotated).group(1)
    assert new_secret != secret and "The former one still signs deliveries for a day" in rotated


@pytest.mark.parametrize(("url", "message"), [
    ("ftp://files.example.org/hook", "Use an https:// address (not ftp:)."),
    ("javascript:alert(1)", "Use an https:// address (not javascript:)."),
    ("http://example.org/hook", "Plain http is only for this machine"),
    ("https://user:secret@example.org/hook", "Take the user name and password out of the address"),
    ("https://10.0.0.7/hook", "10.0.0.7 is in a private network (10.0.0.7)"),
    ("https://169.254.169.254/latest/meta-data", "is in a private network (169.254.169.254)"),
    ("https://[::ffff:192.168.1.1]/hook", "is in a private network (192.168.1.1)"),
    ("https://[fd00::1]/hook", "is in a private network (fd00::1)"),
    ("http://localhost:8080/hook", "localhost is in a private network (127.0.0.1)"),
    ("https://2130706433/hook", "is in a private network (127.0.0.1)"),
    ("https://0.0.0.0/hook", "is in a private network (0.0.0.0)"),
    ("https://[::1]/hook", "is in a private network (::1)"),
    ("https://[::127.0.0.1]/hook", "is in a private network (127.0.0.1)"),  # IPv4-compatible
    ("https://[::ffff:0:7f00:1]/hook", "is in a private network (127.0.0.1)"),  # IPv4-translated (SIIT)
    ("https://[64:ff9b::a9fe:a9fe]/hook", "is in a private network (169.254.169.254)"),  # NAT64
    ("https://[2002:c0a8:101::1]/hook", "is in a private network (192.168.1.1)"),  # 6to4
    ("https://[fec0::1]/hook", "is in a private network (fec0::1)"),  # site-local
    ("https://0x7f000001/hook", "is in a private network (127.0.0.1)"),
    ("https://nowhere.invalid/hook", "The host nowhere.invalid could not be found."),
    ("https:///hook", "The address names no host"),
])
def test_addresses_the_desk_must_not_call_are_refused_next_to_the_field(signed_in, app, url, message):
    app.config["WEBHOOK_PRIVATE_NETWORKS"] = ""  # production's default
    response = signed_in.submit("/admin/webhooks/new", {"url": url, "events": ["ticket.created"]})
    assert response.status_code == 422
    assert message in error_after(text(response), "url")
    assert db.session.scalar(select(func.count(WebhookSubscription.id))) == 0


def test_every_problem_is_shown_at_once(signed_in):
    response = signed_in.submit("/admin/webhooks/new", {"url": "ftp://x.example.org/", "events": []})
    page = text(response)
    assert "Use an https:// address" in error_after(page, "url")
    assert "Choose at least one event." in error_after(page, "events")


def test_the_list_and_the_delivery_log_page_through_more_than_three_pages(signed_in, receiver):
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))
    page_size = signed_in.application.config["PAGE_SIZE"]
    for number in range(3 * page_size + 2):
        services.create_subscription(admin, services.SubscriptionData(
            url=f"{receiver.url}/{number:03d}", events=["ticket.created"]), utcnow())
    db.session.commit()
    first = text(signed_in.get("/admin/webhooks/"))
    assert f"{receiver.url}/{3 * page_size + 1:03d}" in first and "Page 1 of 4" in first
    last = text(signed_in.get("/admin/webhooks/?page=4"))
    assert f"{receiver.url}/000" in last and f"{receiver.url}/002" not in last

    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN))  # the pages' requests ended the test's session
    subscription = db.session.scalar(select(WebhookSubscription).order_by(WebhookSubscription.id))
    for _ in range(3 * page_size + 1):
        services.send_test(admin, subscription, utcnow())
    db.session.commit()
    ids = list(db.session.scalars(select(WebhookDelivery.id).where(
        WebhookDelivery.subscription_id == subscription.id).order_by(WebhookDelivery.id)))
    log = text(signed_in.get(f"/admin/webhooks/{subscription.id}"))
    assert f'id="delivery-{ids[-1]}"' in log and f'id="delivery-{ids[0]}"' not in log and "Page 1 of 4" in log
    log = text(signed_in.get(f"/admin/webhooks/{subscription.id}?page=4"))
    assert f'id="delivery-{ids[0]}"' in log and f'id="delivery-{ids[1]}"' not in log
    assert f"{len(ids)} waiting" in text(signed_in.get("/admin/webhooks/?page=4"))


def test_the_log_shows_each_attempt_and_a_failed_delivery_is_sent_again(signed_in, app, subscription, receiver):
    app.config["WEBHOOK_MAX_ATTEMPTS"] = 1
    receiver.mode = "error500"
    factories.ticket(subject="El mapa no es veu")
    deliver_due()
    delivery = db.session.scalar(select(WebhookDelivery))
    log = text(signed_in.get(f"/admin/webhooks/{subscription.id}"))
    assert "ticket.created" in log and "failed" in log and "HTTP 500" in log and "busy" in log
    assert "El mapa no es veu" in log  # the request body as sent
    receiver.mode = "ok"
    response = signed_in.submit(f"/admin/webhooks/{subscription.id}/deliveries/{delivery.id}/send-again",
                                follow_redirects=True)
    assert "Delivery queued again" in text(response)
    deliver_due()
    log = text(signed_in.get(f"/admin/webhooks/{subscription.id}"))
    assert "delivered" in log and "200" in log
    assert [item.delivery for item in receiver.taken] == [delivery.uuid]
    again = signed_in.submit(f"/admin/webhooks/{subscription.id}/deliveries/{delivery.id}/send-again",
                             follow_redirects=True)
    assert db.session.get(WebhookDelivery, delivery.id).status is DeliveryStatus.PENDING and again.status_code == 200
    twice = signed_in.submit(f"/admin/webhooks/{subscription.id}/deliveries/{delivery.id}/send-again",
                             follow_redirects=True)
    assert "This delivery is already waiting to be sent." in text(twice)


def test_the_log_shows_a_receivers_html_as_text(signed_in, app, subscription, receiver):
    receiver.mode = "html"
    factories.ticket()
    deliver_due()
    with signed_in.get(f"/admin/webhooks/{subscription.id}") as response:
        page = response.get_data(as_text=True)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img src=x" not in page


def test_a_test_event_goes_out_even_while_paused_and_pause_resume(signed_in, subscription, receiver):
    page = text(signed_in.submit(f"/admin/webhooks/{subscription.id}/pause", follow_redirects=True))
    assert "Subscription paused" in page and "Resume" in page
    assert not db.session.get(WebhookSubscription, subscription.id).is_active
    signed_in.submit(f"/admin/webhooks/{subscription.id}/test")
    deliver_due()
    [test] = receiver.taken
    assert test.event == "webhook.test" and test.payload["record"]["subscription"]["id"] == subscription.id
    page = text(signed_in.submit(f"/admin/webhooks/{subscription.id}/resume", follow_redirects=True))
    assert "Subscription resumed" in page and db.session.get(WebhookSubscription, subscription.id).is_active
    assert "paused the subscription" in page and "resumed the subscription" in page  # the history


def test_editing_checks_the_address_again(signed_in, app, subscription):
    app.config["WEBHOOK_PRIVATE_NETWORKS"] = ""
    response = signed_in.submit(f"/admin/webhooks/{subscription.id}/edit",
                                {"url": "https://192.168.0.10/hook", "events": ["ticket.created"]})
    assert response.status_code == 422 and "private network" in error_after(text(response), "url")
    assert db.session.get(WebhookSubscription, subscription.id).url != "https://192.168.0.10/hook"


@pytest.mark.parametrize("role", [Role.AGENT, Role.TECHNICIAN, Role.CATALOGUE_MANAGER, Role.COUNCIL_USER])
def test_nobody_but_administrators_sees_or_manages_subscriptions(client, subscription, role):
    council = factories.council() if role is Role.COUNCIL_USER else None
    user = factories.user(role, of=council)
    delivery = services.send_test(None, subscription, utcnow())
    db.session.commit()
    number, delivery_id = subscription.id, delivery.id
    client.login(user.email, factories.PASSWORD)
    client.get("/")
    for path in ("/admin/webhooks/", "/admin/webhooks/new", f"/admin/webhooks/{number}",
                 f"/admin/webhooks/{number}/edit"):
        assert client.get(path).status_code == 403, path
    for path in ("/admin/webhooks/new", f"/admin/webhooks/{number}/pause", f"/admin/webhooks/{number}/secret",
                 f"/admin/webhooks/{number}/test", f"/admin/webhooks/{number}/deliveries/{delivery_id}/send-again"):
        assert client.submit(path, {"url": "https://x.example.org", "events": ["ticket.created"]}).status_code == 403
    assert db.session.get(WebhookSubscription, number).is_active
    assert db.session.scalar(select(func.count(WebhookDelivery.id))) == 1
    assert "/admin/webhooks" not in text(client.get("/"))


def test_signed_out_people_are_sent_to_sign_in(client, subscription):
    response = client.get(f"/admin/webhooks/{subscription.id}")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_delivery_of_another_subscription_is_not_found(signed_in, admin, subscription, receiver):
    other, _ = services.create_subscription(admin, services.SubscriptionData(url=receiver.url + "/b",
                                                                             events=["ticket.created"]), utcnow())
    delivery = services.send_test(admin, other, utcnow())
    db.session.commit()
    assert signed_in.submit(f"/admin/webhooks/{subscription.id}/deliveries/{delivery.id}/send-again").status_code == 404
    assert signed_in.get("/admin/webhooks/999999").status_code == 404
