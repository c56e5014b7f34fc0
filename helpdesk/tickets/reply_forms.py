"""Forms of splitting a message off into a new ticket."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from helpdesk.core.forms import Form, strip
from helpdesk.tickets.models import SUBJECT_MAX_LENGTH


class SplitForm(Form):
    subject = StringField(_l("Subject of the new ticket"), validators=[DataRequired(), Length(max=SUBJECT_MAX_LENGTH)],
                          filters=[strip])
