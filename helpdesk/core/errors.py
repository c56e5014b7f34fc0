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


class Problems(DomainError):
    """Every refusal of one attempt, each naming its field: a form shows them all at once, not one per try."""

    def __init__(self, problems: list[DomainError]) -> None:
        unique = list({(problem.field, str(problem.message)): problem for problem in problems}.values())
        super().__init__(unique[0].message if len(unique) == 1 else " ".join(str(item.message) for item in unique),
                         unique[0].field if len(unique) == 1 else None)
        self.problems = unique

    @staticmethod
    def raise_if_any(problems: list[DomainError]) -> None:
        if problems:
            raise Problems(problems)
