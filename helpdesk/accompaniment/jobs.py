"""Jobs of accompaniment: session reminders one working day before (each sent once)."""
from helpdesk.accompaniment.services import send_reminders
from helpdesk.core.scheduling import Job

JOBS = [Job("accompaniment-reminders", send_reminders, seconds=900)]
