"""Webhooks: administrators subscribe other systems' addresses to the desk's events; each event is written as
a delivery in the transaction of the change, then posted (signed, retried, logged) by the scheduler.

The top domain: it hears the signals of every other one and carries the record as the API shows it; only
the app factory, the scheduler and the command line import it.
"""
