"""The rating form: good or not good, and an optional comment (the mail's page and the council's ticket page)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from helpdesk.core.forms import Form
from helpdesk.tickets.satisfaction import COMMENT_MAX_LENGTH

CHOICE_LABELS = {"good": _l("Good"), "not_good": _l("Not good")}


class RatingForm(Form):
    # The portal sends it with one of two buttons named "rating"; the mail's page with a choice of two.
    rating = RadioField(_l("How was the resolution?"), choices=list(CHOICE_LABELS.items()),
                        validators=[InputRequired(_l("Choose good or not good."))])
    comment = TextAreaField(_l("Comment (optional)"), validators=[Length(max=COMMENT_MAX_LENGTH)],
                            description=_l("What went well, or what we could do better. Rating does not reopen the "
                                           "ticket: to ask for more, write to the support team."))
