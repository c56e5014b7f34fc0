"""Forms for platform instances."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (BooleanField, DateField, PasswordField, SelectField, SelectMultipleField, StringField,
                     TextAreaField, widgets)
from wtforms.validators import DataRequired, Length, Optional

from helpdesk.core.forms import Form, record_id, strip
from helpdesk.instances.models import (CREDENTIAL_MAX_LENGTH, KNOWN_MODULES, SECRET_MAX_LENGTH, URL_MAX_LENGTH,
                                       PlatformInstance)
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
    # Secrets are PasswordFields: never written back into the page, and empty keeps the stored one.
    api_key = StringField(_l("API key"), validators=[Length(max=CREDENTIAL_MAX_LENGTH)], filters=[strip],
                          description=_l("Only for platforms that require API authentication (Decidim 0.31 or "
                                         "later): the key of an API user made in the platform's system panel."))
    api_secret = PasswordField(_l("API secret"), validators=[Length(max=SECRET_MAX_LENGTH)])
    remove_api_credentials = BooleanField(_l("Remove the API credentials"))
    oauth_client_id = StringField(_l("OAuth client id"), validators=[Length(max=CREDENTIAL_MAX_LENGTH)],
                                  filters=[strip],
                                  description=_l("The desk's OAuth application on the platform (system panel, OAuth "
                                                 "applications)."))
    oauth_client_secret = PasswordField(_l("OAuth client secret"), validators=[Length(max=SECRET_MAX_LENGTH)])
    remove_oauth_application = BooleanField(_l("Remove the OAuth application"))

    def describe_secrets(self, instance: PlatformInstance | None) -> None:
        """Say "a secret is saved; leave it empty to keep it" only beside a secret the instance has, and offer
        to remove only what is there."""
        has_api = instance is not None and bool(instance.api_key or instance.api_secret_sealed)
        has_oauth = instance is not None and bool(instance.oauth_client_id or instance.oauth_client_secret_sealed)
        self.api_secret.description = (_l("A secret is saved. Leave it empty to keep it.")
                                       if instance is not None and instance.api_secret_sealed else "")
        self.oauth_client_secret.description = (_l("A secret is saved. Leave it empty to keep it.")
                                                if instance is not None and instance.oauth_client_secret_sealed
                                                else "")
        if not has_api:
            del self.remove_api_credentials
        if not has_oauth:
            del self.remove_oauth_application


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
