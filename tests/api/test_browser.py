"""In a real headless Chromium, under the desk's own Content-Security-Policy: the API's browsable page renders
the operations of the OpenAPI document, and the browser reports no CSP violation doing it."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_the_docs_page_lists_the_operations_under_the_csp(live_server, browser):
    page = browser.new_context().new_page()  # the CSP applies: no bypass
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" or "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.add_init_script("document.addEventListener('securitypolicyviolation', event => "
                         "console.error('CSP violation: ' + event.violatedDirective + ' ' + event.blockedURI))")
    answer = page.goto(f"{live_server}/api/v1/docs")
    assert answer is not None and "default-src 'self'" in answer.headers["content-security-policy"]
    operations = page.locator(".opblock-summary-path")
    operations.first.wait_for()
    paths = set(operations.all_inner_texts())
    assert {"/api/v1/tickets", "/api/v1/tickets/{number}", "/api/v1/audit-events"} <= {
        path.replace("\u200b", "") for path in paths}
    operations.first.click()  # an operation opened: its parameters and answers render too
    page.locator(".opblock-body .responses-wrapper").first.wait_for()
    assert problems == []
