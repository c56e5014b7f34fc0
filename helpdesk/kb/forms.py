"""The article editor: its settings and a title and text per language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from helpdesk.core.forms import Form, strip
from helpdesk.kb.models import BODY_MAX_LENGTH, TITLE_MAX_LENGTH


class ArticleForm(Form):
    slug = StringField(_l("Address"), validators=[DataRequired(), Length(max=100)], filters=[strip],
                       description=_l("The end of its link: lower-case letters, digits and hyphens."))
    category = SelectField(_l("Category"))
    tags = StringField(_l("Tags"), validators=[Length(max=500)], filters=[strip],
                       description=_l("Separated by commas."))
    is_public = BooleanField(_l("Public (councils and visitors); otherwise staff only"), default=True)
    is_published = BooleanField(_l("Published; otherwise a draft"))
    reviewed_on = DateField(_l("Last reviewed"), validators=[Optional()])
    title_ca = StringField(_l("Title (Catalan)"), validators=[Length(max=TITLE_MAX_LENGTH)], filters=[strip])
    body_ca = TextAreaField(_l("Text (Catalan, Markdown)"), validators=[Length(max=BODY_MAX_LENGTH)])
    title_es = StringField(_l("Title (Spanish)"), validators=[Length(max=TITLE_MAX_LENGTH)], filters=[strip])
    body_es = TextAreaField(_l("Text (Spanish, Markdown)"), validators=[Length(max=BODY_MAX_LENGTH)])
    title_en = StringField(_l("Title (English)"), validators=[Length(max=TITLE_MAX_LENGTH)], filters=[strip])
    body_en = TextAreaField(_l("Text (English, Markdown)"), validators=[Length(max=BODY_MAX_LENGTH)])


class FeedbackForm(Form):
    pass
