"""Forms of the platform status: a maintenance window, and a contact's own choice of notices."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateTimeLocalField, SelectMultipleField, TextAreaField
from wtforms.validators import Length, Optional

from helpdesk.core.forms import Form, record_id, strip
from helpdesk.instances.maintenance import REASON_MAX_LENGTH

LOCAL_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


class MaintenanceForm(Form):
    # Local times (the desk's time zone); the view turns them into UTC. The service says what is missing.
    starts_at = DateTimeLocalField(_l("Starts"), format=LOCAL_FORMATS, validators=[Optional()],
                                   description=_l("Barcelona time."))
    ends_at = DateTimeLocalField(_l("Ends"), format=LOCAL_FORMATS, validators=[Optional()],
                                 description=_l("Barcelona time."))
    reason = TextAreaField(_l("What is done, as the councils will read it"),
                           validators=[Length(max=REASON_MAX_LENGTH)], filters=[strip],
                           description=_l("Shown on the councils' status page and in the e-mail they receive."))
    instance_ids = SelectMultipleField(_l("Instances"), coerce=record_id, validators=[Optional()],
                                       description=_l("Hold Ctrl (⌘ on a Mac) to choose several."))
    council_ids = SelectMultipleField(_l("Every instance of these councils"), coerce=record_id,
                                      validators=[Optional()])


class NoticesForm(Form):
    receives_platform_notices = BooleanField(_l("Send me e-mail about our platform"),
                                             description=_l("Outages the desk is working on, and planned "
                                                            "maintenance before it starts."))
