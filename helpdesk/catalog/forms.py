"""Forms of the catalogue: the request (and renewal), the managers' decisions, calls and resources."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from helpdesk.catalog.models import LANGUAGES, TEXT_MAX_LENGTH, TITLE_MAX_LENGTH
from helpdesk.catalog.states import ProjectKind
from helpdesk.core.forms import Form, record_id, strip
from helpdesk.instances.forms import CheckboxesField

# The forms check each value's form (length, date, choice; NUL bytes and years outside 1900–2100 through
# ``Form``); whether a request is complete is the services' rule, and the views show both together.


class RequestForm(Form):
    council_id = SelectField(_l("Council"), coerce=record_id, validators=[Optional()])
    project_kind = SelectField(_l("Kind of project"), validators=[Optional()])
    project_title = StringField(_l("Project title"), validators=[Length(max=TITLE_MAX_LENGTH)], filters=[strip])
    project_description = TextAreaField(_l("What the project is about"), validators=[Length(max=TEXT_MAX_LENGTH)],
                                        filters=[strip])
    project_starts_on = DateField(_l("Expected start"), validators=[Optional()])
    referent_contact_id = SelectField(_l("Municipal technical referent"), validators=[Optional()],
                                      description=_l("One of the council's contacts, or a new one below."))
    referent_name = StringField(_l("New referent: name"), validators=[Length(max=200)], filters=[strip])
    referent_position = StringField(_l("Position"), validators=[Length(max=200)], filters=[strip])
    referent_email = StringField(_l("E-mail"), validators=[Length(max=254)], filters=[strip])
    referent_phone = StringField(_l("Phone"), validators=[Length(max=40)], filters=[strip])
    instance_id = SelectField(_l("Platform"), validators=[Optional()])
    desired_host = StringField(_l("Address wanted for a new platform"), validators=[Length(max=255)],
                               filters=[strip], description=_l("Under diba.cat, such as participa-vic.diba.cat."))
    languages = CheckboxesField(_l("Languages"), choices=list(LANGUAGES.items()), default=["ca", "es"])
    accepts_terms = BooleanField(_l("We accept the platform's code of ethics and social contract"))
    answer = TextAreaField(_l("Your answer to the catalogue managers"), validators=[Length(max=TEXT_MAX_LENGTH)],
                           filters=[strip])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.renewal_offer = None  # set by the view when the chosen platform has a grant to renew instead
        self.project_kind.choices = [("", "—")] + [(item.value, item.label) for item in ProjectKind]


class DecisionForm(Form):
    message = TextAreaField(_l("Message to the council"), validators=[Length(max=TEXT_MAX_LENGTH)], filters=[strip],
                            description=_l("Required to ask for information or to refuse; the council sees it."))


class CallForm(Form):
    year = IntegerField(_l("Year"), validators=[InputRequired(), NumberRange(2000, 2100)])
    opens_on = DateField(_l("Opens on"), validators=[InputRequired()])
    closes_on = DateField(_l("Closes on"), validators=[InputRequired()])


class ResourceForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    description = TextAreaField(_l("Description"), validators=[Length(max=TEXT_MAX_LENGTH)], filters=[strip])
    requirements = TextAreaField(_l("Requirements"), validators=[Length(max=TEXT_MAX_LENGTH)], filters=[strip],
                                 description=_l("One per line."))
    is_active = BooleanField(_l("Can be requested"))
