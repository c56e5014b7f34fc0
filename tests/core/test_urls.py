"""Links in the desk's e-mail point at the desk: BASE_URL when set, else the address the page was served at,
else (the scheduler, the CLI) the local port `helpdesk run` serves on."""
import re

import pytest
from sqlalchemy import select

from helpdesk import create_app
from helpdesk.auth.models import Role
from helpdesk.config import ConfigError
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from tests import factories
from tests.conftest import Client, settings
from tests.test_cli import run  # noqa: F401  (the fixture)


def link_to(address: str) -> str:
    message = db.session.scalars(select(OutboxMessage).where(OutboxMessage.to_addresses == address)
                                 .order_by(OutboxMessage.id.desc())).first()
    return re.search(r"https?://\S+", message.body_text).group(0)


def ask_for_reset(client, address: str, **served) -> None:
    """The forgotten-password form, as a browser at ``served`` (base_url, headers) sends it."""
    client.get("/password/forgot", **served)
    assert client.submit("/password/forgot", {"email": address}, **served).status_code == 302


def test_a_reset_link_names_the_host_and_port_the_page_was_served_at(app):
    factories.user(Role.AGENT, email="agent@example.org")
    ask_for_reset(app.test_client(), "agent@example.org", base_url="http://desk.example:8080")
    link = link_to("agent@example.org")
    assert link.startswith("http://desk.example:8080/password/reset/")
    assert app.test_client().get(link, base_url="http://desk.example:8080").status_code == 200


def test_behind_a_trusted_proxy_links_use_the_address_the_proxy_was_asked_for(app, tmp_path):
    proxied = create_app(settings(tmp_path / "proxied", app.config["DATABASE_URL"], TRUSTED_PROXIES=1))
    proxied.test_client_class = Client
    factories.user(Role.AGENT, email="agent@example.org")
    db.session.commit()
    try:
        ask_for_reset(proxied.test_client(), "agent@example.org",
                      headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "suport.example.org",
                               "Referer": "https://suport.example.org/password/forgot"})  # CSRF over HTTPS wants it
    finally:
        with proxied.app_context():
            db.engine.dispose()  # the second app's connections, closed before the test's database is reset
    assert link_to("agent@example.org").startswith("https://suport.example.org/password/reset/")


def test_a_set_base_url_wins_over_the_served_address(app):
    app.config["BASE_URL"] = "https://suport.example.org/"
    factories.user(Role.AGENT, email="agent@example.org")
    ask_for_reset(app.test_client(), "agent@example.org", base_url="http://10.0.0.7:8080")
    assert link_to("agent@example.org").startswith("https://suport.example.org/password/reset/")


def test_an_invitation_from_the_cli_links_to_the_port_the_desk_runs_on(run):
    result = run("user", "invite", "--email", "nova@example.org", "--name", "Nova Agent", "--role", "agent",
                 HELPDESK_PORT="8080")
    assert result.returncode == 0, result.stderr
    assert link_to("nova@example.org").startswith("http://127.0.0.1:8080/invitation/")


def test_a_set_base_url_must_be_a_web_address(tmp_path):
    with pytest.raises(ConfigError, match="HELPDESK_BASE_URL: not a web address"):
        create_app(settings(tmp_path, "sqlite://", BASE_URL="suport.example.org"))
