"""Forms of accompaniment: the council's request, the OTPGL's assessment, booking and following sessions."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField, TimeField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from helpdesk.accompaniment.models import TEXT_MAX_LENGTH
from helpdesk.accompaniment.states import LABELS, SESSION_KINDS, Need
from helpdesk.core.forms import Form, record_id, strip
from helpdesk.instances.forms import CheckboxesField


class RequestForm(Form):
    council_id = SelectField(_l("Council"), coerce=record_id, validators=[Optional()])
    instance_id = SelectField(_l("Platform"), validators=[Optional()])
    action = StringField(_l("The action to carry out"), validators=[Length(max=200)], filters=[strip],
                         description=_l("For example: participatory budget 2027."))
    description = TextAreaField(_l("What it is about"), validators=[Length(max=TEXT_MAX_LENGTH)], filters=[strip])
    needs = CheckboxesField(_l("What you need"), choices=[(item.value, LABELS[Need][item]) for item in Need])
    preferred_dates = TextAreaField(_l("Preferred dates and times"), validators=[Length(max=TEXT_MAX_LENGTH)],
                                    filters=[strip])
    attendees = TextAreaField(_l("Who will attend"), validators=[Length(max=TEXT_MAX_LENGTH)], filters=[strip])


class AssessmentForm(Form):
    assessment = TextAreaField(_l("Assessment"), validators=[Length(max=TEXT_MAX_LENGTH)], filters=[strip],
                               description=_l("Required to decide or to ask; the council sees it."))


class AnswerForm(Form):
    answer = TextAreaField(_l("Your answer"), validators=[Length(max=TEXT_MAX_LENGTH)], filters=[strip])
    reason = TextAreaField(_l("Reason for cancelling"), validators=[Length(max=TEXT_MAX_LENGTH)], filters=[strip])


class SessionForm(Form):
    kind = SelectField(_l("Kind of session"), choices=[(item.value, label) for item, label in SESSION_KINDS.items()])
    day = DateField(_l("Day"), validators=[DataRequired()])
    time = TimeField(_l("Time"), validators=[DataRequired()])
    duration_minutes = IntegerField(_l("Duration (minutes)"), validators=[DataRequired(), NumberRange(15, 480)],
                                    default=90)
    online = BooleanField(_l("Online"), default=True)
    location = StringField(_l("Link or place"), validators=[DataRequired(), Length(max=500)], filters=[strip])
    adviser_id = SelectField(_l("Adviser"), coerce=record_id)
    attendees = TextAreaField(_l("Attendees' e-mail addresses"), validators=[Length(max=2000)], filters=[strip],
                              description=_l("They and the adviser receive the calendar invitation."))


class OutcomeForm(Form):
    notes_for_council = TextAreaField(_l("Notes for the council"), validators=[Length(max=TEXT_MAX_LENGTH)],
                                      filters=[strip])
    internal_notes = TextAreaField(_l("Internal notes"), validators=[Length(max=TEXT_MAX_LENGTH)], filters=[strip])
    follow_up_actions = TextAreaField(_l("Follow-up actions"), validators=[Length(max=TEXT_MAX_LENGTH)],
                                      filters=[strip])
