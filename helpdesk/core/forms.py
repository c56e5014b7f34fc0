"""Form helpers shared by every domain."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField

from helpdesk.config import LANGUAGE_LABELS
from helpdesk.core.errors import DomainError


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's refusal next to the field that caused it, or above the form."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(error.message)]
    else:
        form.form_errors.append(str(error.message))


def strip(value):
    return value.strip() if isinstance(value, str) else value


class LanguageForm(FlaskForm):
    language = SelectField(choices=list(LANGUAGE_LABELS.items()))
    next = HiddenField()


class ConfirmForm(FlaskForm):
    """A button's form: nothing but the CSRF token."""


def spreadsheet_text(value: str) -> str:
    """Free text for a CSV that people open in a spreadsheet: a leading = + - @ would make it a formula."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
