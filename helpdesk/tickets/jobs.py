"""Jobs of the tickets domain."""
from helpdesk.core.scheduling import Job
from helpdesk.tickets.clocks import check_sla
from helpdesk.tickets.outages import monitor

JOBS = [Job("sla", check_sla, seconds=60), Job("monitor", monitor, seconds=120, setting="MONITOR_MINUTES")]
