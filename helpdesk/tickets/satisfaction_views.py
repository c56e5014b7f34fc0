"""Satisfaction's pages: rating from the resolution mail's link (no sign-in) and from the council's ticket page."""
from __future__ import annotations

from helpdesk.tickets import satisfaction  # noqa: F401 (its model and listeners)
from helpdesk.tickets.views import bp  # noqa: F401 (the routes are on the tickets blueprint)
