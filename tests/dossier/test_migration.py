"""Migration 0027 gives a desk already running its Decidim version history: from the audit trail, then the
version each instance runs now where the trail does not end on it."""
import flask_migrate
from sqlalchemy import select, text, update

from helpdesk import create_app
from helpdesk.core.audit import AuditEvent
from helpdesk.dossier.models import InstanceVersion
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.instances.services import InstanceData, update_instance
from tests import factories
from tests.conftest import settings
from tests.test_migrations import empty_database_url  # noqa: F401 (the fixture)


def test_upgrading_seeds_the_history_from_the_audit_trail(empty_database_url, tmp_path):  # noqa: F811
    app = create_app(settings(tmp_path / "instance", empty_database_url))
    with app.app_context():
        flask_migrate.upgrade()
        vic = factories.council("Ajuntament de Vic")
        audited = factories.instance(vic, version="0.27.4")
        update_instance(None, audited, InstanceData(audited.base_url, "0.28.5", ("proposals",)))
        silent = factories.instance(vic, version="0.28.1")
        unknown = factories.instance(vic, version="")
        db.session.commit()
        ids = audited.id, silent.id, unknown.id
        # A version set where no audit event says so (a path before this one, or by hand).
        db.session.execute(update(PlatformInstance).where(PlatformInstance.id == ids[1])
                           .values(decidim_version="0.28.2"))
        db.session.commit()
        trail = {event.object_id: event.created_at for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "platform_instances").order_by(AuditEvent.id))}
        db.session.remove()

        flask_migrate.downgrade(revision="0026")
        flask_migrate.upgrade()
        rows = db.session.execute(select(InstanceVersion.instance_id, InstanceVersion.version,
                                         InstanceVersion.first_seen_at).order_by(InstanceVersion.id)).all()
        assert [(row.instance_id, row.version) for row in rows] == [
            (ids[0], "0.27.4"), (ids[0], "0.28.5"), (ids[1], "0.28.1"), (ids[1], "0.28.2")]
        assert rows[1].first_seen_at == trail[ids[0]]  # when the change was audited
        assert db.session.scalar(text("SELECT count(*) FROM instance_versions WHERE instance_id = :id"),
                                 {"id": ids[2]}) == 0
        db.session.remove()
        db.engine.dispose()
