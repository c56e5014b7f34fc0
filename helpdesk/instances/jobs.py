"""Jobs of the instances: refresh what each active platform runs (hourly check, INSTANCE_REFRESH_HOURS each)."""
from helpdesk.core.scheduling import Job
from helpdesk.instances.services import refresh_due

JOBS = [Job("instance-facts", refresh_due, seconds=3600)]
