"""The form that creates a personal access token, on My account."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from helpdesk.api.models import SCOPE_LABELS, TOKEN_NAME_MAX_LENGTH, TokenScope
from helpdesk.core.forms import Form


class TokenForm(Form):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=TOKEN_NAME_MAX_LENGTH)],
                       description=_l("What the token is for, such as “Municipal registry integration”."))
    scope = SelectField(_l("Scope"), choices=[(scope.value, label) for scope, label in SCOPE_LABELS.items()],
                        default=TokenScope.READ.value)
    expires_on = DateField(_l("Expires on"), validators=[Optional()],
                           description=_l("Optional: the token stops working at the start of this day."))
    create = SubmitField(_l("Create token"))
