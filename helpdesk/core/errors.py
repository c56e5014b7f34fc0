"""Errors that services raise when a business rule refuses an action."""
from __future__ import annotations


class DomainError(Exception):
    """A rule refused the action; ``message`` is meant for the person who asked, ``field`` names the cause."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotAllowed(DomainError):
    """The actor's role or council does not allow this action."""


class InvalidTransition(DomainError):
    """A status change that the state table does not allow."""


class StaleRecord(DomainError):
    """Someone else saved the record after this form was loaded."""
