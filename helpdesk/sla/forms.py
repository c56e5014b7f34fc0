"""Forms for calendars, holidays and SLA policies."""
from __future__ import annotations

import re
from datetime import time

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, Field, IntegerField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from helpdesk.core.forms import Form, strip
from helpdesk.sla.models import NAME_MAX_LENGTH, OFFICIAL_HOLIDAYS
from helpdesk.sla.services import WEEKDAYS

_SPAN = re.compile(r"^\s*(\d{1,2})[:.h](\d{2})\s*[-–]\s*(\d{1,2})[:.h](\d{2})\s*$")


def parse_hours(text: str) -> list[tuple[time, time]]:
    """ "09:00-14:00, 15:00-17:00" as intervals; 24:00 (or 00:00) closes at midnight. ValueError if unreadable."""
    spans = []
    for part in filter(None, (piece.strip() for piece in re.split(r"[,;]", text or ""))):
        match = _SPAN.match(part)
        if not match:
            raise ValueError(part)
        open_hour, open_minute, close_hour, close_minute = map(int, match.groups())
        if open_hour > 23 or open_minute > 59 or close_hour > 24 or close_minute > 59 or (
                close_hour == 24 and close_minute):
            raise ValueError(part)
        spans.append((time(open_hour, open_minute), time(close_hour % 24, close_minute)))
    return spans


def hours_validator(form: Form, field: Field) -> None:
    try:
        parse_hours(field.data)
    except ValueError as error:
        raise ValidationError(_l("“%(part)s” is not an interval such as 09:00-14:00.", part=str(error))) from None


class CalendarForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)], filters=[strip])
    timezone = StringField(_l("Time zone"), validators=[DataRequired(), Length(max=64)], filters=[strip],
                           default="Europe/Madrid")
    is_24x7 = BooleanField(_l("Open all the time (24x7)"),
                           description=_l("Weekly hours and holidays do not apply."))
    official_holidays = SelectField(_l("Official holidays"), choices=list(OFFICIAL_HOLIDAYS.items()))


for _weekday, _label in WEEKDAYS.items():
    setattr(CalendarForm, f"day_{_weekday}", StringField(
        _label, validators=[Optional(), Length(max=200), hours_validator], filters=[strip],
        description=_l("For example 09:00-14:00, 15:00-17:00. Empty: closed.") if _weekday == 0 else ""))


class HolidayForm(Form):
    day = DateField(_l("Date"), validators=[DataRequired()])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)], filters=[strip],
                       description=_l("A local holiday or a one-off closure."))


def optional_text(value: str | None) -> str | None:
    return value or None


class PolicyForm(Form):
    # Catalan is required (the desk's default, and what readers of a language without a name see)
    name = StringField(_l("Name (Catalan)"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)],
                       filters=[strip])
    name_es = StringField(_l("Name (Spanish)"), validators=[Optional(), Length(max=NAME_MAX_LENGTH)],
                          filters=[strip], description=_l("Empty: readers in Spanish see the Catalan name."))
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=NAME_MAX_LENGTH)],
                          filters=[strip], description=_l("Empty: readers in English see the Catalan name."))
    category = SelectField(_l("Category"), coerce=optional_text)
    priority = SelectField(_l("Priority"), coerce=optional_text)
    calendar_id = SelectField(_l("Calendar"), coerce=lambda value: int(value) if value else None)
    first_response_minutes = IntegerField(_l("First response target (minutes of business time)"),
                                          validators=[DataRequired(), NumberRange(1, 525600)])
    resolution_minutes = IntegerField(_l("Resolution target (minutes of business time)"),
                                      validators=[DataRequired(), NumberRange(1, 525600)])
