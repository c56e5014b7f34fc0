"""Service levels: business-hours calendars, SLA policies and the clocks on each ticket."""
from helpdesk.sla.calendar import BusinessCalendar

__all__ = ["BusinessCalendar"]
