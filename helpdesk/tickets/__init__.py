"""Tickets: the agents' inbox, messages, phone calls and the councils' support form (next issue)."""
