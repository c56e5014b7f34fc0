"""Incoming mail: mailboxes, the intake pipeline, held mail."""
