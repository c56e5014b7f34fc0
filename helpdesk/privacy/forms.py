"""The privacy pages' forms: download everything, and erase with the person's address typed to confirm."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from helpdesk.core.forms import ConfirmForm, Form, strip


class ExportForm(ConfirmForm):
    """The "download everything" button (a POST: the export is recorded in the audit trail)."""


class EraseForm(Form):
    confirmation = StringField(_l("Confirmation"), validators=[DataRequired(), Length(max=254)], filters=[strip],
                               description=_l("Type the person's e-mail address (or, if they have none, their "
                                              "name) exactly as shown above."))

    def confirms(self, expected: str) -> bool:
        """Whether what was typed is ``expected`` (addresses are compared without regard to case)."""
        return (self.confirmation.data or "").strip().lower() == expected.strip().lower()
