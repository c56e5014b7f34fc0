"""Jobs of the core: delivering the outbox."""
from __future__ import annotations

from pathlib import Path

from flask import current_app

from helpdesk.core.outbox import DeliveryRun, SmtpSettings, deliver_pending
from helpdesk.core.scheduling import Job
from helpdesk.core.storage import BlobStore


def deliver_outbox() -> DeliveryRun:
    """Send the queued e-mail that is due, over one SMTP session."""
    files = BlobStore(Path(current_app.instance_path) / "attachments")
    return deliver_pending(SmtpSettings.from_config(current_app.config, files))


JOBS = [Job("outbox", deliver_outbox, seconds=20)]
