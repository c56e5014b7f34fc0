"""Decidim 0.31+ API credentials, against the loopback Decidim told to require them: the client signs in at
/api/sign_in, sends the bearer token, reuses it until it expires and signs in again after, or when the API
refuses it; a platform that wants credentials the desk lacks (or refuses those it has) is said so on its
page and in the monitor's log, and is not an outage. The edit form keeps the secrets to itself."""
from datetime import datetime, timedelta, timezone

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.core.audit import AuditEvent
from helpdesk.extensions import db
from helpdesk.instances import services
from helpdesk.instances.decidim import ApiCredentials, DecidimClient, DecidimError, token_expiry
from helpdesk.instances.health import ACCESS_NOTES, probe
from helpdesk.instances.jobs import refresh_due
from helpdesk.instances.models import API_ACCESS_LABELS, HealthCheck, PlatformInstance
from helpdesk.instances.services import CredentialsData, change_credentials, refresh_facts
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.outages import monitor
from helpdesk.tickets.states import Channel
from tests import factories
from tests.pages import error_after, text

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def in_catalan(message) -> str:
    """What the desk shows in its own language (Catalan), whatever the catalogues hold yet."""
    with force_locale("ca"):
        return str(message)


class Clock:
    """The desk's side of time, moved together with the server's."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(decidim):
    moved = Clock()
    original = decidim.advance

    def advance(seconds: float) -> None:
        original(seconds)
        moved.now += timedelta(seconds=seconds)
    decidim.advance = advance
    return moved


def loopback(decidim, clock=None):
    """A client factory that reaches the loopback server whatever the instance's address is (plain HTTP)."""
    return lambda url, credentials: DecidimClient(decidim.url, timeout=2, credentials=credentials,
                                                  **({"clock": clock} if clock else {}))


def with_credentials(instance, key="desk-key", secret="desk-secret"):
    change_credentials(None, instance, CredentialsData(api_key=key, api_secret=secret))
    db.session.commit()
    return instance


def test_the_client_signs_in_once_and_sends_the_token_on_every_request(decidim):
    decidim.require()
    credentials = ApiCredentials("desk-key", "desk-secret")
    with DecidimClient(decidim.url, credentials=credentials) as client:
        facts = client.facts()
    assert facts.version == "0.28.5" and facts.organisation_name == "Ajuntament de Vilafictícia"
    assert decidim.sign_ins == ["desk-key"]  # one sign-in for the six queries
    assert len(decidim.bearers) == 6 and set(decidim.bearers) == {credentials.token.value}
    # The expiry is the token's own exp claim (read without the server's key): two hours from now.
    expected = datetime.now(timezone.utc) + timedelta(seconds=decidim.jwt_expires_in)
    assert abs((credentials.token.expires_at - expected).total_seconds()) < 5
    assert credentials.token.expires_at == token_expiry(credentials.token.value)
    assert token_expiry("not-a-jwt") is None and token_expiry("a.bm90IGpzb24.c") is None  # sign in again on a 401


def test_the_hourly_refresh_records_and_logs_credentials_the_platform_wants(app, decidim, monkeypatch, caplog):
    decidim.require()
    monkeypatch.setattr(services, "DecidimClient", lambda url, **kwargs: DecidimClient(decidim.url, **kwargs))
    instance_id = factories.instance(factories.council(), version="0.27.6").id
    with caplog.at_level("WARNING", logger="helpdesk.instances.jobs"):
        assert refresh_due(NOW) == 1
    db.session.remove()
    instance = db.session.get(PlatformInstance, instance_id)
    assert instance.api_access == "missing" and instance.decidim_version == "0.27.6"  # the old facts stay
    assert instance.host in caplog.text and "credentials_missing" in caplog.text


def test_missing_and_refused_credentials_are_told_apart_from_other_failures(decidim):
    decidim.require()
    with DecidimClient(decidim.url) as client, pytest.raises(DecidimError) as missing:
        client.facts()
    assert missing.value.code == "credentials_missing"
    with DecidimClient(decidim.url, credentials=ApiCredentials("desk-key", "wrong")) as client, \
            pytest.raises(DecidimError) as refused:
        client.facts()
    assert refused.value.code == "credentials_refused" and decidim.bearers == [None]  # never reached the API
    decidim.api_users = None  # a platform before 0.31: no /api/sign_in at all
    with DecidimClient(decidim.url, credentials=ApiCredentials("desk-key", "desk-secret")) as client, \
            pytest.raises(DecidimError) as no_sign_in:
        client.facts()
    assert no_sign_in.value.code == "no_sign_in"
    decidim.require()
    decidim.mode = "error500"
    with DecidimClient(decidim.url, credentials=ApiCredentials("desk-key", "desk-secret")) as client, \
            pytest.raises(DecidimError) as broken:
        client.facts()
    assert broken.value.code == "http_error"  # signed in; the platform itself is failing


def test_a_refresh_keeps_the_token_sealed_and_reuses_it_until_it_expires(app, decidim, clock):
    decidim.require()
    instance = with_credentials(factories.instance(factories.council(), version="0.27.6"))
    assert refresh_facts(instance, NOW, loopback(decidim, clock))
    db.session.commit()
    token = decidim.bearers[-1]
    assert instance.decidim_version == "0.28.5" and instance.api_access == "signed_in"
    stored = db.session.execute(select(PlatformInstance.api_secret_sealed, PlatformInstance.api_token_sealed)).one()
    assert "desk-secret" not in stored[0] and token not in stored[1]  # sealed, not kept as they are
    assert refresh_facts(instance, NOW, loopback(decidim, clock))
    assert decidim.sign_ins == ["desk-key"] and decidim.bearers[-1] == token  # the stored token, reused
    clock_before = instance.api_token_expires_at
    decidim.advance(decidim.jwt_expires_in + 1)  # both clocks past the token's exp
    assert refresh_facts(instance, NOW, loopback(decidim, clock))
    db.session.commit()
    assert decidim.sign_ins == ["desk-key"] * 2 and decidim.bearers[-1] != token
    assert instance.api_token_expires_at > clock_before


def test_a_token_the_api_refuses_before_its_expiry_is_replaced_once(app, decidim, clock):
    decidim.require()
    instance = with_credentials(factories.instance(factories.council()))
    assert refresh_facts(instance, NOW, loopback(decidim, clock))
    decidim.rotate_jwt_secret()  # the platform's DECIDIM_API_JWT_SECRET changed: the token is refused
    assert refresh_facts(instance, NOW, loopback(decidim, clock))
    assert len(decidim.sign_ins) == 2 and instance.api_access == "signed_in"


def test_the_page_says_when_credentials_are_missing_or_refused(client, app, decidim, monkeypatch):
    decidim.require()
    instance_id = factories.instance(factories.council()).id
    monkeypatch.setattr(services, "DecidimClient", lambda url, **kwargs: DecidimClient(decidim.url, **kwargs))
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    client.get(f"/instances/{instance_id}")
    page = text(client.submit(f"/instances/{instance_id}/refresh", follow_redirects=True))
    missing = in_catalan(API_ACCESS_LABELS["missing"])
    assert page.count(missing) == 2  # the notice after the refresh, and the facts
    with_credentials(db.session.get(PlatformInstance, instance_id), secret="an old secret")
    page = text(client.submit(f"/instances/{instance_id}/refresh", follow_redirects=True))
    assert in_catalan(API_ACCESS_LABELS["refused"]) in page and missing not in page
    with_credentials(db.session.get(PlatformInstance, instance_id))
    page = text(client.submit(f"/instances/{instance_id}/refresh", follow_redirects=True))
    assert "Nou reglament de participació ciutadana" in page
    assert in_catalan(API_ACCESS_LABELS["signed_in"]) in page


@pytest.fixture
def on_loopback(app, decidim):
    """An active instance whose address is the loopback server (the monitor probes what it is given)."""
    instance = factories.instance(factories.council("Ajuntament de Vic"))
    instance.base_url = decidim.url  # set directly: the service only registers HTTPS addresses
    db.session.commit()
    return instance.id


def checks():
    return list(db.session.scalars(select(HealthCheck).order_by(HealthCheck.id)))


def test_the_monitor_opens_no_outage_for_an_api_that_wants_credentials(app, decidim, on_loopback):
    decidim.require()
    for minute in range(0, 10, 2):  # more than MONITOR_FAILURES checks
        monitor(NOW + timedelta(minutes=minute))
    db.session.remove()
    instance = db.session.get(PlatformInstance, on_loopback)
    assert instance.health == "up" and instance.api_access == "missing"
    assert list(db.session.scalars(select(Ticket).where(Ticket.channel == Channel.MONITOR))) == []
    last = checks()[-1]
    assert last.up and last.status_code == 401
    assert last.error.startswith(in_catalan(ACCESS_NOTES["missing"]))
    with_credentials(instance, secret="wrong")
    monitor(NOW + timedelta(minutes=12))
    assert checks()[-1].up and checks()[-1].error.startswith(in_catalan(ACCESS_NOTES["refused"]))
    assert db.session.get(PlatformInstance, on_loopback).api_access == "refused"


def test_the_monitor_signs_in_with_the_credentials_and_keeps_the_token(app, decidim, on_loopback):
    decidim.require()
    with_credentials(db.session.get(PlatformInstance, on_loopback))
    monitor(NOW)
    monitor(NOW + timedelta(minutes=2))
    db.session.remove()
    instance = db.session.get(PlatformInstance, on_loopback)
    assert instance.api_access == "signed_in" and instance.api_token_sealed
    assert decidim.sign_ins == ["desk-key"] and decidim.bearers[0] == decidim.bearers[1] is not None
    assert [check.error for check in checks()] == ["", ""]
    decidim.mode = "error500"  # really down: that is still an outage
    for minute in range(4, 12, 2):
        monitor(NOW + timedelta(minutes=minute))
    assert len(list(db.session.scalars(select(Ticket).where(Ticket.channel == Channel.MONITOR)))) == 1


def test_probe_alone_tells_a_locked_api_from_a_broken_one(decidim):
    decidim.require()
    result = probe(decidim.url)
    assert result.up and result.api_access == "missing" and result.status_code == 401
    result = probe(decidim.url, credentials=ApiCredentials("desk-key", "wrong"))
    assert result.up and result.api_access == "refused"
    result = probe(decidim.url, credentials=ApiCredentials("desk-key", "desk-secret"))
    assert result.up and result.api_access == "signed_in" and result.error == ""


def edit(client, instance_id, **fields):
    page = text(client.get(f"/instances/{instance_id}/edit"))
    assert 'name="api_secret"' in page
    instance = db.session.get(PlatformInstance, instance_id)
    data = {"base_url": instance.base_url, "decidim_version": instance.decidim_version,
            "api_key": instance.api_key or "", "oauth_client_id": instance.oauth_client_id or "", **fields}
    return client.submit(f"/instances/{instance_id}/edit", data)


def test_the_edit_form_keeps_secrets_hidden_and_the_audit_says_only_that_they_changed(client, app):
    factories.user(Role.TECHNICIAN, email="tecnic@example.org")
    instance_id = factories.instance(factories.council()).id
    client.login("tecnic@example.org", factories.PASSWORD)
    response = edit(client, instance_id, api_key="desk-key", api_secret="s3cret-api", oauth_client_id="client-1",
                    oauth_client_secret="s3cret-oauth")
    assert response.status_code == 302
    form = text(client.get(f"/instances/{instance_id}/edit"))
    assert "s3cret-api" not in form and "s3cret-oauth" not in form
    assert 'value="desk-key"' in form and 'value="client-1"' in form  # the key and the id are no secrets
    page = text(client.get(f"/instances/{instance_id}"))
    assert "s3cret" not in page and "desk-key" not in page and "client-1" not in page  # nor in the audit trail
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "credentials_changed")).all()
    assert len(events) == 1 and "s3cret" not in str(events[0].changes) and "desk-key" not in str(events[0].changes)
    assert set(events[0].changes) == {"api_key", "api_secret", "oauth_client_id", "oauth_client_secret"}

    sealed = db.session.get(PlatformInstance, instance_id).api_secret_sealed
    assert edit(client, instance_id).status_code == 302  # empty secrets: the stored ones stay
    instance = db.session.get(PlatformInstance, instance_id)
    assert instance.api_secret_sealed == sealed and instance.oauth_client_secret_sealed
    assert instance.api_credentials(app.config["SECRET_KEY"]).secret == "s3cret-api"

    assert edit(client, instance_id, remove_api_credentials="y").status_code == 302
    instance = db.session.get(PlatformInstance, instance_id)
    assert instance.api_key is None and instance.api_secret_sealed is None and instance.oauth_client_id == "client-1"
    assert edit(client, instance_id, remove_oauth_application="y").status_code == 302
    instance = db.session.get(PlatformInstance, instance_id)
    assert instance.oauth_client_id is None and instance.oauth_client_secret_sealed is None
    assert "remove_api_credentials" not in text(client.get(f"/instances/{instance_id}/edit"))  # nothing to remove


def test_a_key_without_its_secret_is_refused_next_to_the_field_and_nothing_changes(client, app):
    factories.user(Role.TECHNICIAN, email="tecnic@example.org")
    instance_id = factories.instance(factories.council()).id
    client.login("tecnic@example.org", factories.PASSWORD)
    response = edit(client, instance_id, api_key="desk-key", notes="changed", oauth_client_secret="lonely")
    assert response.status_code == 422
    page = text(response)
    assert error_after(page, "api_secret") == in_catalan(_l("Type the API secret that goes with the key."))
    assert error_after(page, "oauth_client_id")
    instance = db.session.get(PlatformInstance, instance_id)
    assert instance.api_key is None and instance.oauth_client_secret_sealed is None and instance.notes == ""
