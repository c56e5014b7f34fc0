"""Personal data under the GDPR: export what the desk holds on a person, pseudonymise it, purge old tickets.

This domain sits above every other one (like ``cli.py``): it reads and rewrites their tables, and nothing
but the app factory and the command line imports it.
"""
