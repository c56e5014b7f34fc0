"""Forms for platform instances."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectField, SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import DataRequired, Length, Optional

from helpdesk.core.forms import Form, record_id, strip
from helpdesk.instances.models import KNOWN_MODULES, URL_MAX_LENGTH
from helpdesk.instances.states import InstanceStatus


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class InstanceForm(Form):
    council_id = SelectField(_l("Council"), coerce=record_id)
    base_url = StringField(_l("Address"), validators=[DataRequired(), Length(max=URL_MAX_LENGTH)], filters=[strip],
                           description=_l("The platform's own address, e.g. https://participa.vic.cat"))
    decidim_version = StringField(_l("Decidim version"), validators=[Optional(), Length(max=32)], filters=[strip],
                                  description=_l("For example 0.28.5."))
    enabled_modules = CheckboxesField(_l("Enabled modules"), choices=list(KNOWN_MODULES.items()))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=10000)])


def coerce_status(value):
    return value if isinstance(value, InstanceStatus) else InstanceStatus(value)


class StatusForm(Form):
    status = SelectField(_l("New status"), coerce=coerce_status)


class ReleaseForm(Form):
    version = StringField(_l("Version"), validators=[DataRequired(), Length(max=32)], filters=[strip],
                          description=_l("For example 0.32.2."))
    released_on = DateField(_l("Released on"), validators=[DataRequired()])
    supported = BooleanField(_l("Upstream still gives it security fixes"))
    notes = StringField(_l("Notes"), validators=[Length(max=500)], filters=[strip])
