"""Jobs of the platform status: tell the councils of planned maintenance (each change once, one
transaction per window)."""
from __future__ import annotations

from datetime import datetime

from helpdesk.core.models import utcnow
from helpdesk.core.scheduling import Job
from helpdesk.extensions import db
from helpdesk.instances.maintenance import MaintenanceWindow
from helpdesk.status.services import tell_councils, windows_to_tell


def maintenance_notices(now: datetime | None = None) -> str:
    """The scheduler's job: each council hears of a window once it is within the notice time, and again
    when it changes or is cancelled."""
    now = now or utcnow()
    told = 0
    for window_id in windows_to_tell(now):
        window = db.session.get(MaintenanceWindow, window_id)
        if window is not None:
            told += tell_councils(window, now)
            db.session.commit()
    return f"{told} councils told of planned maintenance"


JOBS = [Job("maintenance_notices", maintenance_notices, seconds=300)]
