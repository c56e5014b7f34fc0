"""In a real headless Chromium: an administrator subscribes a receiver from the admin menu, keeps the secret
shown once, sends a test event and sees it delivered in the log, then an opened ticket too; the three
screens fit a 360 px phone and axe-core finds nothing on them."""
from __future__ import annotations

import re

import pytest

from helpdesk.extensions import db
from helpdesk.webhooks.jobs import deliver_due
from tests import factories

pytestmark = pytest.mark.browser
PHONE = {"width": 360, "height": 740}
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def deliver() -> None:
    db.session.remove()  # a fresh look at what the browser's requests committed
    deliver_due()
    db.session.remove()


def test_an_administrator_subscribes_and_sees_deliveries_in_the_log(app, admin, receiver, live_server, browser):
    from axe_playwright_python.sync_playwright import Axe

    page = browser.new_context(bypass_csp=True).new_page()  # axe-core is injected as a script
    page.goto(f"{live_server}/login")
    page.fill("#email", admin.email)
    page.fill("#password", factories.PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="New subscription").click()
    page.get_by_label("Address").fill(receiver.url)
    page.get_by_label("Description").fill("Gestor d'expedients")
    page.get_by_label("A ticket is opened").check()
    page.get_by_label("A message is added to a ticket").check()
    page.get_by_role("button", name="Subscribe").click()
    page.wait_for_load_state()
    receiver.secret = page.locator("#secret").inner_text()
    assert receiver.secret.startswith("whsec_")
    page.get_by_role("link", name="I have kept it").click()
    page.wait_for_url(re.compile(r".*/admin/webhooks/\d+$"))
    assert page.get_by_role("heading", level=1).inner_text() == receiver.url
    assert receiver.secret not in page.content()  # shown once only

    page.get_by_role("button", name="Send a test event").click()
    page.wait_for_load_state()
    assert "Test event queued" in page.locator("p.flash").inner_text()
    deliver()
    page.reload()
    entry = page.locator("ol.deliveries > li").first
    assert "webhook.test" in entry.inner_text() and "delivered" in entry.inner_text()
    entry.get_by_text("Request body").click()
    assert '"event": "webhook.test"' in entry.locator("pre").first.inner_text()
    [test] = receiver.taken
    assert test.event == "webhook.test"

    factories.ticket(subject="La votació no s'obre")
    deliver()
    page.reload()
    entry = page.locator("ol.deliveries > li").first
    assert "ticket.created" in entry.inner_text() and "delivered" in entry.inner_text()
    assert [item.payload["record"]["subject"] for item in receiver.taken[1:]] == ["La votació no s'obre"]

    axe, failures = Axe(), []
    log = page.url
    page.set_viewport_size(PHONE)
    for path in (log, f"{live_server}/admin/webhooks/", f"{live_server}/admin/webhooks/new", log + "/edit"):
        page.goto(path)
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        if width[0] > width[1]:
            failures.append(f"{path}: {width[0]} px wide at 360 px")
        results = axe.run(page, options={"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]})
        failures += [f"{path}: axe {item['id']}: {item['nodes'][0]['target']}"
                     for item in results.response["violations"]]
    assert failures == []
