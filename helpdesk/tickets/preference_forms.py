"""The inbox's "Columns" menu: which optional columns an agent sees."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from helpdesk.core.forms import Form
from helpdesk.tickets.preferences import COLUMNS


class ColumnsForm(Form):
    # Unknown names are dropped by the service (preferences.known_columns), not refused: an old page's
    # form, sent after a column was removed, still saves the rest.
    columns = SelectMultipleField(_l("Columns to show"), choices=list(COLUMNS.items()), validate_choice=False,
                                  widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())
    next = HiddenField()
