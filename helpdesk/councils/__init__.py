"""Councils (local bodies) and their contacts."""
