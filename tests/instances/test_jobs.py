"""The hourly job that asks each active platform what it runs (against the loopback Decidim server)."""
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from helpdesk.extensions import db
from helpdesk.instances import services
from helpdesk.instances.decidim import DecidimClient
from helpdesk.instances.jobs import refresh_due
from helpdesk.instances.models import PlatformInstance
from helpdesk.instances.states import InstanceStatus
from tests import factories

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def test_active_platforms_not_read_lately_are_refreshed_each_in_its_own_transaction(app, decidim, monkeypatch):
    # Every address is served by the loopback server (plain HTTP): only where the client connects changes.
    monkeypatch.setattr(services, "DecidimClient", lambda url, **kwargs: DecidimClient(decidim.url, **kwargs))
    due = [factories.instance(factories.council(), version="0.27.6").id for _ in range(3)]
    fresh = factories.instance(factories.council(), version="0.27.6")
    fresh.facts_checked_at = NOW - timedelta(hours=1)
    suspended = factories.instance(factories.council(), status=InstanceStatus.SUSPENDED, version="0.27.6").id
    db.session.commit()
    assert refresh_due(NOW) == 3
    db.session.remove()  # what each refresh committed, read afresh
    versions = dict(db.session.execute(select(PlatformInstance.id, PlatformInstance.decidim_version)).tuples().all())
    assert [versions[instance_id] for instance_id in due] == ["0.28.5"] * 3
    assert versions[suspended] == "0.27.6" and list(versions.values()).count("0.27.6") == 2
    assert refresh_due(NOW + timedelta(hours=1)) == 0  # read an hour ago: not due for INSTANCE_REFRESH_HOURS
    assert refresh_due(NOW + timedelta(hours=25)) == 4  # the fresh one too, by then
