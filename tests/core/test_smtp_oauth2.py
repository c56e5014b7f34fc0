"""Mail out through a real SMTP server (aiosmtpd on loopback) that takes only XOAUTH2, each token checked
by the introspection endpoint of a real loopback OAuth2 provider (tests/oauth2_provider.py); and the
settings that configure it, checked at start-up."""
import asyncio
import base64
import json
import socket
import urllib.request
from email import message_from_bytes

import pytest
from flask_babel import force_locale
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy import select

from helpdesk.config import ConfigError, load
from helpdesk.core import oauth2
from helpdesk.core.outbox import OutboxMessage, OutboxStatus, SmtpSettings, deliver_pending, queue_mail
from helpdesk.extensions import db
from tests.conftest import SECRET_KEY
from tests.oauth2_provider import CLIENT_ID, CLIENT_SECRET, Provider

SENDER = "suport@example.org"


class OAuth2Inbox:
    """Takes mail only from a session signed in by XOAUTH2 with a token the provider says is active and
    whose user is the one signing in; keeps what it receives and who sent it."""

    def __init__(self, introspection_url):
        self.introspection_url, self.received, self.logins = introspection_url, [], []

    async def auth_XOAUTH2(self, server, args):  # noqa: N802 - aiosmtpd finds mechanisms by this name
        fields = dict(part.split("=", 1) for part in base64.b64decode(args[1]).decode().split("\x01") if "=" in part)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        answer = await asyncio.to_thread(self._introspect, token)
        if answer.get("active") and answer.get("username") == user:
            self.logins.append(user)
            return AuthResult(success=True, auth_data=user)
        # As Google and Microsoft do: the error as a challenge, then 535 after the client's empty answer.
        await server.challenge_auth(json.dumps({"status": "401", "schemes": "bearer"}))
        return AuthResult(success=False, handled=False)  # aiosmtpd then answers 535

    def _introspect(self, token):
        request = urllib.request.Request(self.introspection_url, data=f"token={token}".encode(), method="POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if not session.authenticated:  # aiosmtpd's own auth_required warns without TLS: the same rule here
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append((session.auth_data, message_from_bytes(envelope.content)))
        return "250 Message accepted"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(autouse=True)
def no_tokens_held():
    oauth2.forget_tokens()
    yield
    oauth2.forget_tokens()


@pytest.fixture
def provider():
    server = Provider(user=SENDER)
    yield server
    server.stop()


@pytest.fixture
def smtp(provider):
    inbox, port = OAuth2Inbox(provider.introspection_url), free_port()
    # No PLAIN or LOGIN to fall back on.
    controller = Controller(inbox, hostname="127.0.0.1", port=port, auth_require_tls=False,
                            auth_exclude_mechanism=["PLAIN", "LOGIN"])
    controller.start()
    yield inbox, SmtpSettings(host="127.0.0.1", port=port, username=SENDER, sender=SENDER, sender_name="Suport",
                              oauth2=oauth2.OAuth2Grant(provider.token_url, CLIENT_ID, CLIENT_SECRET,
                                                        "https://outlook.office365.com/.default"))
    controller.stop()


def queue(subject):
    queue_mail(["marta@vic.cat"], subject, "Hola")
    db.session.commit()


def messages():
    db.session.remove()
    return db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_the_outbox_signs_in_with_xoauth2_and_keeps_the_token_for_the_next_run(app, smtp, provider):
    inbox, settings = smtp
    queue("Primer")
    assert deliver_pending(settings).sent == 1
    queue("Segon")
    assert deliver_pending(settings).sent == 1
    assert [(who, mail["Subject"]) for who, mail in inbox.received] == [(SENDER, "Primer"), (SENDER, "Segon")]
    assert provider.grants() == ["client_credentials"]  # the second run used the token held
    assert provider.requests[0].scope == "https://outlook.office365.com/.default"


def test_a_refused_client_keeps_the_mail_waiting_with_the_reason_until_it_is_fixed(app, smtp, provider):
    inbox, settings = smtp
    provider.revoke_client()
    queue("Espera")
    with force_locale("en"):  # as the scheduler runs it: outside any request
        run = deliver_pending(settings)
    assert run.sent == 0 and run.deferred == 1
    [waiting] = messages()
    assert waiting.status is OutboxStatus.PENDING
    assert waiting.last_error == ("SmtpSignInError: The provider refused the client (invalid_client: AADSTS7000215: "
                                  "Invalid client secret provided.): check the client id and the client secret, "
                                  "and that the secret has not expired.")
    provider.clients[CLIENT_ID] = CLIENT_SECRET  # a new secret was registered
    assert deliver_pending(settings, waiting.next_attempt_at).sent == 1
    assert [mail["Subject"] for _, mail in inbox.received] == ["Espera"]


def test_a_token_the_server_refuses_is_renewed_once_then_told(app, smtp, provider):
    inbox, settings = smtp
    queue("Primer")
    assert deliver_pending(settings).sent == 1
    provider.revoke_access_tokens()  # the held token no longer works: a new one is asked for
    queue("Segon")
    assert deliver_pending(settings).sent == 1
    assert provider.grants() == ["client_credentials", "client_credentials"]

    provider.user = "another@example.org"  # the application may no longer send as the desk's mailbox
    provider.revoke_access_tokens()
    queue("Tercer")
    with force_locale("en"):  # as the scheduler runs it: outside any request
        assert deliver_pending(settings).deferred == 1
    assert messages()[-1].last_error.startswith(
        f"SmtpSignInError: The mail server refused the access token for {SENDER} (535 5.7.8 Authentication "
        "credentials invalid): check that the application may send as this mailbox")


def test_a_server_without_xoauth2_is_told_as_such(app, provider):
    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"
    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port, auth_require_tls=False)
    controller.start()
    try:
        queue("Sense OAuth2")
        with force_locale("en"):  # as the scheduler runs it
            run = deliver_pending(SmtpSettings(host="127.0.0.1", port=port, username=SENDER, sender=SENDER,
                                               oauth2=oauth2.OAuth2Grant(provider.token_url, CLIENT_ID, CLIENT_SECRET)))
        assert run.deferred == 1
        assert "127.0.0.1 does not offer OAuth2 sign-in (AUTH XOAUTH2 or OAUTHBEARER)" in messages()[-1].last_error
        assert provider.grants() == []
    finally:
        controller.stop()


OAUTH2_ENVIRONMENT = {"HELPDESK_SECRET_KEY": SECRET_KEY, "HELPDESK_SMTP_AUTH": "oauth2",
                      "HELPDESK_SMTP_USERNAME": SENDER,
                      "HELPDESK_SMTP_OAUTH2_TOKEN_URL": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
                      "HELPDESK_SMTP_OAUTH2_CLIENT_ID": CLIENT_ID, "HELPDESK_SMTP_OAUTH2_CLIENT_SECRET": CLIENT_SECRET,
                      "HELPDESK_SMTP_OAUTH2_SCOPE": "https://outlook.office365.com/.default"}


def test_the_smtp_oauth2_settings_make_the_grant(tmp_path):
    settings = SmtpSettings.from_config(load(tmp_path, environ=OAUTH2_ENVIRONMENT))
    assert settings.oauth2 == oauth2.OAuth2Grant("https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
                                                 CLIENT_ID, CLIENT_SECRET, "https://outlook.office365.com/.default")
    assert settings.oauth2.grant_type == "client_credentials"
    assert SmtpSettings.from_config(load(tmp_path, environ={"HELPDESK_SECRET_KEY": SECRET_KEY})).oauth2 is None


@pytest.mark.parametrize("changes, message", [
    ({"HELPDESK_SMTP_AUTH": "kerberos"}, "HELPDESK_SMTP_AUTH: must be password or oauth2"),
    ({"HELPDESK_SMTP_USERNAME": ""}, "HELPDESK_SMTP_USERNAME: OAuth2 signs in as a mailbox"),
    ({"HELPDESK_SMTP_OAUTH2_TOKEN_URL": ""}, "HELPDESK_SMTP_OAUTH2_TOKEN_URL: not set"),
    ({"HELPDESK_SMTP_OAUTH2_TOKEN_URL": "http://login.example.org/token"},
     "HELPDESK_SMTP_OAUTH2_TOKEN_URL: must be an https:// address"),
    ({"HELPDESK_SMTP_OAUTH2_CLIENT_ID": ""}, "HELPDESK_SMTP_OAUTH2_CLIENT_ID: not set"),
    ({"HELPDESK_SMTP_OAUTH2_CLIENT_SECRET": ""}, "HELPDESK_SMTP_OAUTH2_CLIENT_SECRET: not set"),
])
def test_bad_smtp_oauth2_settings_stop_start_up_naming_the_setting(tmp_path, changes, message):
    with pytest.raises(ConfigError) as refused:
        load(tmp_path, environ={**OAUTH2_ENVIRONMENT, **changes})
    assert str(refused.value).startswith(message)
    # A refresh token instead of a secret (a public client) and a token URL on this machine are fine.
    load(tmp_path, environ={**OAUTH2_ENVIRONMENT, "HELPDESK_SMTP_OAUTH2_CLIENT_SECRET": "",
                            "HELPDESK_SMTP_OAUTH2_REFRESH_TOKEN": "rt-1",
                            "HELPDESK_SMTP_OAUTH2_TOKEN_URL": "http://127.0.0.1:8080/token"})
