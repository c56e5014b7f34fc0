"""Reading each council's Decidim (against a real HTTP server on loopback that serves the Decidim
fixtures and misbehaves on request), keeping what it says, and the releases it is compared with."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.instances import services
from helpdesk.instances.decidim import DecidimClient, DecidimError
from helpdesk.instances.models import DecidimRelease
from helpdesk.instances.releases import all_releases, state
from helpdesk.instances.services import refresh_facts, save_release
from tests import factories
from tests.pages import text

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def test_the_client_reads_version_names_spaces_and_modules(decidim):
    with DecidimClient(decidim.url) as client:
        facts = client.facts()
    assert facts.version == "0.28.5" and facts.application_name == "Decidim Hosting Example"
    assert facts.organisation_name == "Ajuntament de Vilafictícia"
    assert {space["type"] for space in facts.spaces} == {"participatory_processes", "assemblies", "conferences"}
    assert "initiatives" not in facts.modules  # not installed: its own request failed, the rest did not
    assert {"proposals", "surveys", "debates", "pages"} <= set(facts.modules)
    process = next(space for space in facts.spaces if space["slug"] == "reglament-participacio")
    assert process["title"] == "Nou reglament de participació ciutadana"
    assert [item["module"] for item in process["components"]] == ["pages", "proposals"]
    assert len(decidim.requests) == 6  # version, organisation, and one request per space type
    assert set(decidim.agents) == {"Participa311-desk/1.0 (+mailto:suportparticipa311@diba.cat)"}


def test_a_029_organisation_name_is_read_as_a_translation(decidim):
    decidim.mode = "v029"
    with DecidimClient(decidim.url) as client:
        assert client.facts().organisation_name == "Ajuntament de Vilafictícia"


@pytest.mark.parametrize("mode, code", [("forced_login", "forced_login"), ("rate_limited", "rate_limited"),
                                        ("error500", "http_error"), ("garbage", "not_json"), ("slow", "timeout")])
def test_every_misbehaviour_is_a_clear_error_not_a_crash(decidim, mode, code):
    decidim.mode = mode
    with DecidimClient(decidim.url, timeout=0.5) as client, pytest.raises(DecidimError) as raised:
        client.facts()
    assert raised.value.code == code


def test_an_unreachable_platform_is_reported(decidim):
    url = decidim.url
    decidim.stop()
    with DecidimClient(url, timeout=1) as client, pytest.raises(DecidimError) as raised:
        client.facts()
    assert raised.value.code == "unreachable"


def test_a_refresh_keeps_what_the_platform_says_and_why_it_could_not(app, decidim):
    instance = factories.instance(factories.council(), version="0.27.6")
    via_loopback = lambda url, credentials: DecidimClient(decidim.url, timeout=1)  # noqa: E731 (plain HTTP)
    assert refresh_facts(instance, NOW, via_loopback)
    db.session.commit()
    assert instance.decidim_version == "0.28.5" and instance.organisation_name == "Ajuntament de Vilafictícia"
    assert "conferences" in instance.enabled_modules and instance.facts_error == ""
    decidim.mode = "forced_login"
    assert not refresh_facts(instance, NOW, via_loopback)
    db.session.commit()
    assert instance.facts_error.startswith("forced_login") and instance.decidim_version == "0.28.5"


def test_the_refresh_button_and_the_page(client, app, decidim, monkeypatch):
    instance_id = factories.instance(factories.council()).id
    monkeypatch.setattr(services, "DecidimClient", lambda url, **kwargs: DecidimClient(decidim.url, **kwargs))
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    client.get(f"/instances/{instance_id}")
    page = text(client.submit(f"/instances/{instance_id}/refresh", follow_redirects=True))
    assert "Decidim Hosting Example" in page and "Nou reglament de participació ciutadana" in page
    assert "sense suport" in page  # 0.28.5 is on a line upstream no longer supports


def test_releases_classify_instances_current_behind_unsupported(app):
    releases = all_releases()
    assert state("0.28.5", releases) == "unsupported"
    assert state("0.31.5", releases) == "behind"
    assert state("0.32.1", releases) == "current"
    assert state(None, releases) == "unknown"  # 0.30+ hides it unless disclosed
    save_release(None, "0.32.2", date(2026, 10, 1), True)
    db.session.commit()
    assert state("0.32.1", all_releases()) == "behind"
    save_release(None, "0.31.6", date(2026, 11, 1), False)  # upstream dropped the 0.31 line
    db.session.commit()
    assert state("0.31.6", all_releases()) == "unsupported"
    assert not db.session.scalar(select(DecidimRelease).where(DecidimRelease.version == "0.31.0")).supported


def test_only_administrators_change_releases_and_the_upgrade_list(client, app):
    factories.instance(factories.council(), url="https://vell.diba.cat", version="0.28.5")
    factories.instance(factories.council(), url="https://nou.diba.cat", version="0.32.1")
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    client.get("/instances/releases")
    assert client.submit("/instances/releases", {"version": "0.33.0", "released_on": "2026-11-01"}).status_code == 403
    page = text(client.get("/instances/upgrades"))
    assert "vell.diba.cat" in page and "nou.diba.cat" not in page and "0.28.6" in page
