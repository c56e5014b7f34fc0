"""Jobs of personal data: the retention purge, daily, when PRIVACY_RETENTION_YEARS is set."""
from __future__ import annotations

from flask import current_app

from helpdesk.core.models import utcnow
from helpdesk.core.scheduling import Job
from helpdesk.privacy.services import purge


def purge_expired() -> int:
    """Pseudonymise the requesters of tickets closed longer ago than the retention period; how many tickets."""
    if not current_app.config["PRIVACY_RETENTION_YEARS"]:
        return 0
    return purge(None, utcnow()).tickets


JOBS = [Job("privacy-purge", purge_expired, seconds=24 * 3600)]
