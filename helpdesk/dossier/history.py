"""Recording the Decidim version history: whenever an instance's ``decidim_version`` is set to a new value
(registered with one, edited by a technician, read from the platform by a refresh, or by any other path),
a row of ``InstanceVersion`` is written in the same flush. An ORM listener rather than a call in each
service, so that no path that sets the version can forget it; instances (a lower domain) know nothing of it."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from helpdesk.core.models import utcnow
from helpdesk.dossier.models import InstanceVersion
from helpdesk.instances.models import PlatformInstance


def changed_version(instance: PlatformInstance, is_new: bool) -> str | None:
    """The version to record for ``instance`` in this flush, or None (unchanged, or emptied)."""
    version = instance.decidim_version or ""
    if is_new:
        return version or None
    history = inspect(instance).attrs.decidim_version.history
    if not history.has_changes():
        return None
    before = history.deleted[0] if history.deleted else None
    return version if version and version != before else None


@event.listens_for(Session, "before_flush")
def _record_versions(session: Session, _context: Any, _instances: Any) -> None:
    now = None
    for item, is_new in [(item, True) for item in session.new] + [(item, False) for item in session.dirty]:
        if not isinstance(item, PlatformInstance):
            continue
        version = changed_version(item, is_new)
        if version is not None:
            now = now or utcnow()
            session.add(InstanceVersion(instance=item, version=version, first_seen_at=now))
