"""Access tokens from a real token endpoint on loopback (tests/oauth2_provider.py): held and renewed in
time, and every way the provider can fail told in words an administrator can act on."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from helpdesk.core import oauth2
from helpdesk.core.oauth2 import OAuth2Error, OAuth2Grant, access_token, renew_after
from tests.oauth2_provider import CLIENT_ID, CLIENT_SECRET, Provider


@pytest.fixture(autouse=True)
def no_tokens_held():
    oauth2.forget_tokens()
    yield
    oauth2.forget_tokens()


@pytest.fixture
def provider():
    server = Provider()
    yield server
    server.stop()


def test_a_token_is_held_until_a_minute_before_it_expires(app, provider):
    grant = OAuth2Grant(provider.token_url, CLIENT_ID, CLIENT_SECRET, "https://mail.google.com/")
    first = access_token(grant)
    again = access_token(grant)
    assert (first.from_cache, again.from_cache, again.value) == (False, True, first.value)
    assert provider.grants() == ["client_credentials"]
    assert access_token(grant, renew=True).value != first.value  # a server refused it: a new one
    assert renew_after(3600) == 3540 and renew_after("3599") == 3539  # a minute before
    assert renew_after(4) == 2  # halfway, for tokens that live less than two minutes
    assert renew_after(None) == renew_after("junk") == renew_after(-5) == 240  # unknown: taken as five minutes


def test_each_grant_holds_its_own_token(app, provider):
    one = OAuth2Grant(provider.token_url, CLIENT_ID, CLIENT_SECRET, "https://outlook.office365.com/.default")
    other = OAuth2Grant(provider.token_url, CLIENT_ID, CLIENT_SECRET, "https://mail.google.com/")
    assert access_token(one).value != access_token(other).value
    assert [request.scope for request in provider.requests] == ["https://outlook.office365.com/.default",
                                                                "https://mail.google.com/"]


class Answers(BaseHTTPRequestHandler):
    """A web server that is not a token endpoint: a login page, a missing page, a token without a token."""

    def do_POST(self):  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, kind, body = {"/login": (200, "text/html", "<html>Sign in</html>"),
                              "/missing": (404, "text/html", "<html>Not found</html>"),
                              "/empty": (200, "application/json", '{"token_type": "Bearer"}'),
                              "/scope": (400, "application/json",
                                         '{"error": "invalid_scope", "error_description": "AADSTS70011"}')}[self.path]
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def web():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path, advice", [
    ("/login", "The token URL did not answer as a token endpoint: check the token URL."),
    ("/missing", "The token URL answered HTTP 404 instead of a token: check the token URL, or try again later if "
                 "the provider is having trouble."),
    ("/empty", "The provider's answer has no access token: check the token URL."),
    ("/scope", "The provider refused the scope “IMAP” (invalid_scope: AADSTS70011): check the scope."),
])
def test_what_is_not_a_token_is_told_in_words(app, english, web, path, advice):
    with pytest.raises(OAuth2Error) as refused:
        access_token(OAuth2Grant(web + path, CLIENT_ID, CLIENT_SECRET, "IMAP"))
    assert str(refused.value) == advice


def test_only_https_or_this_machine_may_receive_the_secret(app, english):
    with pytest.raises(OAuth2Error, match=r"must start with https://"):
        access_token(OAuth2Grant("http://login.example.org/token", CLIENT_ID, CLIENT_SECRET))
    assert oauth2.is_allowed_token_url("https://login.microsoftonline.com/common/oauth2/v2.0/token")
    assert oauth2.is_allowed_token_url("http://localhost:8080/token") and oauth2.is_allowed_token_url(
        "http://[::1]/token")
    assert not oauth2.is_allowed_token_url("ftp://example.org/") and not oauth2.is_allowed_token_url("https://")
