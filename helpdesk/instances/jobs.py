"""Jobs of the instances: refresh what each active platform runs (hourly check, INSTANCE_REFRESH_HOURS each)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select

from helpdesk.core.models import utcnow
from helpdesk.core.scheduling import Job
from helpdesk.extensions import db
from helpdesk.instances.models import API_ACCESS_PROBLEMS, PlatformInstance
from helpdesk.instances.services import refresh_facts
from helpdesk.instances.states import InstanceStatus

log = logging.getLogger(__name__)


def refresh_due(now: datetime | None = None) -> int:
    """Refresh the active instances not refreshed for INSTANCE_REFRESH_HOURS, one transaction each."""
    now = now or utcnow()
    limit = now - timedelta(hours=current_app.config["INSTANCE_REFRESH_HOURS"])
    due = db.session.scalars(select(PlatformInstance.id).where(
        PlatformInstance.status == InstanceStatus.ACTIVE,
        (PlatformInstance.facts_checked_at.is_(None)) | (PlatformInstance.facts_checked_at < limit))
        .order_by(PlatformInstance.id)).all()
    count = 0
    for instance_id in due:
        instance = db.session.get(PlatformInstance, instance_id)
        if instance is None or instance.status is not InstanceStatus.ACTIVE:
            continue  # removed or suspended since the list was read
        if not refresh_facts(instance, now) and instance.api_access in API_ACCESS_PROBLEMS:
            # The platform is up but will not let the desk read it: say so where the scheduler logs.
            log.warning("%s: %s (%s)", instance.host, instance.api_access, instance.facts_error)
        db.session.commit()
        count += 1
    return count


JOBS = [Job("instance-facts", refresh_due, seconds=3600)]
