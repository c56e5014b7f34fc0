"""Jobs of the catalogue: grace, lapse and renewal reminders (hourly; each reminder is sent once)."""
from helpdesk.catalog.services import daily
from helpdesk.core.scheduling import Job

JOBS = [Job("catalog", daily, seconds=3600)]
