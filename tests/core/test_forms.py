"""What every form refuses whatever its own rules (`helpdesk.core.forms.Form`), each with its own message next
to the field, and what it still takes."""
import pytest
from werkzeug.datastructures import MultiDict

from helpdesk.tickets.forms import CallForm

GOOD = {"direction": "inbound", "started_at": "2026-11-30T10:15", "duration_minutes": "5", "category": "usage",
        "summary": "Dubte sobre el logotip"}


@pytest.fixture
def form(app, english):
    def filled(**changes):
        with app.test_request_context(method="POST"):
            made = CallForm(formdata=MultiDict({**GOOD, **changes}), meta={"csrf": False})
            made.council_id.choices = [(0, "—"), (1, "Vic")]
            made.requester_contact_id.choices = [(0, "—")]
            valid = made.validate()
            return valid, {name: [str(error) for error in errors] for name, errors in made.errors.items()}
    return filled


def test_a_good_call_passes(form):
    assert form() == (True, {})
    assert form(duration_minutes="")[0]  # an optional number left blank is no number


@pytest.mark.parametrize("field, value, message", [
    ("summary", "Hola\x00", "This field cannot contain a NUL character."),
    ("summary", "Hola \ufffd\ufffd", "This field holds bytes that are not UTF-8 text."),
    ("duration_minutes", "cinc", "“cinc” is not a number."),
    ("started_at", "2026-02-30T10:00", "“2026-02-30T10:00” is not a real date."),
    ("started_at", "9999-12-31T23:59", "Give a date between 1900 and 2100."),
    ("started_at", "1000-01-01T09:00", "Give a date between 1900 and 2100."),
    ("council_id", "99999999999999999999", "Not a valid choice."),
])
def test_each_field_refuses_what_no_column_holds_with_its_own_message(form, field, value, message):
    valid, errors = form(**{field: value})
    assert not valid
    assert errors == {field: [message]}  # one message, next to its field; the others have none


def test_all_errors_show_at_once(form):
    valid, errors = form(summary="\x00", duration_minutes="x", started_at="2026-13-01T00:00")
    assert not valid and set(errors) == {"summary", "duration_minutes", "started_at"}
