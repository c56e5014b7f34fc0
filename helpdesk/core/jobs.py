"""Jobs of the core: delivering the outbox."""
from __future__ import annotations

from flask import current_app

from helpdesk.core.outbox import SmtpSettings, deliver_pending
from helpdesk.core.scheduling import Job


def deliver_outbox() -> dict[str, int]:
    """Send the queued e-mail that is due."""
    return deliver_pending(SmtpSettings.from_config(current_app.config))


JOBS = [Job("outbox", deliver_outbox, seconds=20)]
