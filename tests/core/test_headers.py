"""Security headers on every answer: HSTS only over HTTPS (directly or through a trusted proxy), no device or
sensor for any script, and the content security policy as it was."""
import pytest

from helpdesk import create_app
from helpdesk.extensions import db
from tests.conftest import Client, settings

HSTS = "max-age=31536000; includeSubDomains"
CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'; "
       "form-action 'self'")


@pytest.fixture
def behind_a_proxy(app, tmp_path):
    """The desk behind one reverse proxy (TRUSTED_PROXIES=1) on the same database."""
    proxied = create_app(settings(tmp_path / "proxied", app.config["SQLALCHEMY_DATABASE_URI"], TRUSTED_PROXIES=1))
    proxied.test_client_class = Client
    yield proxied.test_client()
    with proxied.app_context():
        db.session.remove()
        db.engine.dispose()


def test_hsts_is_sent_over_https_and_never_over_plain_http(client):
    assert client.get("/faq", base_url="https://localhost").headers["Strict-Transport-Security"] == HSTS
    assert client.get("/faq/no-such-article", base_url="https://localhost").headers[
        "Strict-Transport-Security"] == HSTS  # error pages too
    assert "Strict-Transport-Security" not in client.get("/faq").headers


def test_hsts_behind_a_trusted_proxy_follows_the_proxys_scheme(client, behind_a_proxy):
    assert behind_a_proxy.get("/faq", headers={"X-Forwarded-Proto": "https"}).headers[
        "Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in behind_a_proxy.get("/faq", headers={"X-Forwarded-Proto": "http"}).headers
    assert "Strict-Transport-Security" not in behind_a_proxy.get("/faq").headers
    # Without a trusted proxy anyone could send the header: it is not believed.
    assert "Strict-Transport-Security" not in client.get("/faq", headers={"X-Forwarded-Proto": "https"}).headers


def test_no_script_may_use_the_camera_microphone_location_payments_or_usb(client):
    policy = dict(item.strip().split("=", 1) for item in client.get("/faq").headers["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"):
        assert policy[feature] == "()"


def test_the_content_security_policy_and_the_other_headers_are_unchanged(client):
    headers = client.get("/faq").headers
    assert headers["Content-Security-Policy"] == CSP
    assert (headers["X-Content-Type-Options"], headers["X-Frame-Options"], headers["Referrer-Policy"]) == (
        "nosniff", "DENY", "same-origin")
