"""Jobs of the tickets domain."""
from helpdesk.core.scheduling import Job
from helpdesk.tickets.clocks import check_sla

JOBS = [Job("sla", check_sla, seconds=60)]
