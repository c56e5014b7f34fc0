# imaplib2 ships no types and has no stub package. This stub types what the desk uses of it (helpdesk/mail/imap.py
# and fetching.py); the rest of the package reads as Any.
from typing import Any

from .imaplib2 import IMAP4 as IMAP4, IMAP4_SSL as IMAP4_SSL

def __getattr__(name: str) -> Any: ...
