"""Forms of tags and watchers: a tag on one ticket, a tag on the inbox's selection, a colleague to watch."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, Length

from helpdesk.core.forms import Form, optional_record_id, record_id, strip
from helpdesk.tickets.tags import TAG_MAX_LENGTH

TAG_HELP = _l("Type to choose a tag in use, or write a new one.")


class TagForm(Form):
    # The rules of a tag's name are checked by the service (tags.checked_name), stated once.
    tag = StringField(_l("Add a tag"), validators=[DataRequired(_l("Write the tag.")),
                                                   Length(max=TAG_MAX_LENGTH * 2)],
                      filters=[strip], description=TAG_HELP)


class BulkTagForm(Form):
    """Submitted with the inbox's bulk form (its ticked tickets and token), to its own address."""

    tickets = SelectMultipleField(_l("Tickets"), coerce=record_id, validate_choice=False)
    bulk_tag = StringField(_l("Tag to add or remove"), validators=[Length(max=TAG_MAX_LENGTH * 2)], filters=[strip])
    bulk_tag_operation = SelectField(_l("Tag action"), choices=[("add", _l("Add the tag")),
                                                                ("remove", _l("Remove the tag"))])


class WatcherForm(Form):
    user_id = SelectField(_l("Add a colleague as watcher"), coerce=optional_record_id,
                          validators=[DataRequired(_l("Choose a colleague."))])
