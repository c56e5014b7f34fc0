"""The administrators' webhook forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import Length

from helpdesk.core.forms import Form, strip
from helpdesk.instances.forms import CheckboxesField
from helpdesk.webhooks.models import DESCRIPTION_MAX_LENGTH, EVENTS, URL_MAX_LENGTH


class SubscriptionForm(Form):
    url = StringField(_l("Address"), validators=[Length(max=URL_MAX_LENGTH)], filters=[strip],
                      description=_l("Where the desk posts each event, such as https://integracions.example.org/"
                                     "participa311. An https address on the internet: the desk does not send to "
                                     "private networks unless its settings allow them."))
    description = StringField(_l("Description"), validators=[Length(max=DESCRIPTION_MAX_LENGTH)], filters=[strip],
                              description=_l("What listens there, for whoever reads the list (optional)."))
    # No "required" rules here: the service says what is missing, next to each field, all at once.
    events = CheckboxesField(_l("Events"), choices=list(EVENTS.items()))
