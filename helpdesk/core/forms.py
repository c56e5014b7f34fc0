"""Form helpers shared by every domain."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l
from wtforms import DateField, DateTimeLocalField, DecimalField, Field, IntegerField, SelectField, TimeField

from helpdesk.core.errors import DomainError, Problems
from helpdesk.core.validation import EARLIEST_YEAR, LARGEST_NUMBER, LATEST_YEAR, whole_number

if TYPE_CHECKING:
    import wtforms

    class FlaskForm(wtforms.Form):
        """Flask-WTF ships no types: to a type checker its form is a WTForms form (which it is) with the
        methods it adds that the desk calls."""

        def is_submitted(self) -> bool: ...

        def validate_on_submit(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool: ...
else:
    from flask_wtf import FlaskForm

T = TypeVar("T")


def record_id(value: Any) -> int:
    """A record's id as a form or an address gives it; ValueError for anything no id column holds."""
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if number is None and isinstance(value, str):
        number = whole_number(value)
    if number is None or not 0 <= number <= LARGEST_NUMBER:  # 0 is the "none" choice of some lists
        raise ValueError(_l("Not a valid choice."))
    return number


def optional_record_id(value: Any) -> int | None:
    """A record's id, or None for an empty choice."""
    return None if value in (None, "", "None") else record_id(value)


def id_argument(values: Any, name: str) -> int | None:
    """The id named ``name`` in a query string or form (``request.args``/``request.form``), or None."""
    try:
        return optional_record_id(values.get(name))
    except ValueError:
        return None


class Form(FlaskForm):
    """The base of every form of the desk: beside each form's own rules, every field refuses what no
    column can hold (NUL characters, text that was not UTF-8, numbers past the integer range, dates before
    1900 or after 2100, dates that do not exist), each with its own message next to the field."""

    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            problem = field_problem(field)
            if problem is not None:
                field.errors = [problem]
                valid = False
        return valid


def field_problem(field: Field) -> LazyString | None:
    """Why ``field`` cannot be stored whatever the form's rules, or None."""
    texts = [value for value in field.raw_data or () if isinstance(value, str)]
    if any("\x00" in value for value in texts):
        return _l("This field cannot contain a NUL character.")
    if any("\ufffd" in value for value in texts):
        return _l("This field holds bytes that are not UTF-8 text.")
    if isinstance(field, (DateField, DateTimeLocalField, TimeField)) and field.process_errors and texts \
            and texts[0].strip():
        return (_l("“%(value)s” is not a real time.", value=texts[0][:40]) if isinstance(field, TimeField)
                else _l("“%(value)s” is not a real date.", value=texts[0][:40]))
    if isinstance(field, SelectField) and field.process_errors:  # WTForms would say it twice, once in its words
        return _l("Not a valid choice.")
    if isinstance(field, (IntegerField, DecimalField)) and field.process_errors and texts and texts[0].strip():
        return _l("“%(value)s” is not a number.", value=texts[0][:40])
    if isinstance(field.data, (int, float)) and not isinstance(field.data, bool) and isinstance(
            field, (IntegerField, DecimalField, SelectField)) and abs(field.data) > LARGEST_NUMBER:
        return _l("This number is too large.")
    if isinstance(field.data, (date, datetime)) and not EARLIEST_YEAR <= field.data.year <= LATEST_YEAR:
        return _l("Give a date between %(first)d and %(last)d.", first=EARLIEST_YEAR, last=LATEST_YEAR)
    return None


def show_error(form: FlaskForm, error: DomainError) -> None:
    """Put a service's refusal next to the field that caused it, or above the form; each of them for
    :class:`Problems`."""
    if isinstance(error, Problems):
        for problem in error.problems:
            show_error(form, problem)
        return
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, str(error.message)]
    else:
        form.form_errors.append(str(error.message))


def strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def required(value: T | None) -> T:
    """The data of a field that validated as required: WTForms types every field's data as optional."""
    if value is None:
        raise ValueError("a required field has no data: was the form validated?")
    return value


class ConfirmForm(Form):
    """A button's form: nothing but the CSRF token."""
