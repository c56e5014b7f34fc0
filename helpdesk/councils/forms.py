"""Forms for councils and their contacts."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from helpdesk.config import LANGUAGE_LABELS
from helpdesk.core.forms import Form, strip
from helpdesk.councils.models import COUNCIL_KIND_LABELS, INE_CODE_HELP, NAME_MAX_LENGTH, CouncilKind


def coerce_kind(value):
    return value if isinstance(value, CouncilKind) else CouncilKind(value)


class CouncilForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)], filters=[strip])
    kind = SelectField(_l("Kind"), coerce=coerce_kind,
                       choices=[(kind.value, label) for kind, label in COUNCIL_KIND_LABELS.items()])
    ine_code = StringField(_l("INE code"), validators=[DataRequired(), Length(max=10)], filters=[strip],
                           description=INE_CODE_HELP)
    email_domains = TextAreaField(_l("E-mail domains"), validators=[Optional(), Length(max=4000)],
                                  description=_l("One per line, e.g. vic.cat. Mail from these domains is "
                                                 "recognised as this council's."))
    phone_numbers = TextAreaField(_l("Phone numbers"), validators=[Optional(), Length(max=4000)],
                                  description=_l("One per line. Calls from these numbers are recognised as "
                                                 "this council's."))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)])


class ContactForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)], filters=[strip])
    position = StringField(_l("Position"), validators=[Optional(), Length(max=NAME_MAX_LENGTH)], filters=[strip])
    email = EmailField(_l("E-mail"), validators=[Optional(), Length(max=254)], filters=[strip])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=40)], filters=[strip])
    is_technical_referent = BooleanField(_l("Municipal technical referent"),
                                         description=_l("The person who manages the council's platform. "
                                                        "Marking someone replaces the current referent."))
    language = SelectField(_l("Language of the e-mail we send"),
                           choices=[("", _l("The desk's default"))] + list(LANGUAGE_LABELS.items()),
                           validators=[Optional()])
    receives_platform_notices = BooleanField(_l("E-mail about the platform"), default=True,
                                             description=_l("Outages the desk is working on, and planned "
                                                            "maintenance before it starts."))
