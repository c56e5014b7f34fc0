"""Forms for signing in, one's own account, single-use links and the administrators' user screens."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, EmailField, HiddenField, PasswordField, SelectField, StringField,
                     SubmitField, TextAreaField)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from helpdesk.auth.models import (EMAIL_MAX_LENGTH, NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH,
                                  ROLE_LABELS, SIGN_IN_KIND_LABELS, SIGNATURE_MAX_LENGTH, Role)
from helpdesk.config import LANGUAGE_LABELS
from helpdesk.core.forms import Form, optional_record_id, strip


class LoginForm(Form):
    # The sign-in page has one thing to do: typing can start at once.
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=EMAIL_MAX_LENGTH)], filters=[strip],
                       render_kw={"autofocus": True, "autocomplete": "username"})
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX_LENGTH)])
    next = HiddenField()


class NewPasswordMixin:
    password = PasswordField(_l("New password"), validators=[
        DataRequired(), Length(min=PASSWORD_MIN_LENGTH, max=PASSWORD_MAX_LENGTH)],
        description=_l("At least %(count)d characters, hard to guess: several unrelated words work well.",
                       count=PASSWORD_MIN_LENGTH))
    confirm = PasswordField(_l("Repeat the new password"), validators=[
        DataRequired(), EqualTo("password", message=_l("The two passwords are not the same."))])


class ChoosePasswordForm(NewPasswordMixin, Form):
    """The page a single-use link opens: an invitation or a password reset."""


class ForgotPasswordForm(Form):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=EMAIL_MAX_LENGTH)], filters=[strip])


class CodeForm(Form):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)], filters=[strip],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True},
                       description=_l("The 6 digits your authenticator app shows, or one of your recovery codes."))


class EnrolForm(Form):
    code = StringField(_l("Code from the app"), validators=[DataRequired(), Length(max=16)], filters=[strip],
                       render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"})


class ActionForm(Form):
    """A button that changes something (end a session, re-send, withdraw, reset): CSRF and nothing else."""


class PasswordChangeForm(NewPasswordMixin, FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    save = SubmitField(_l("Change password"))


class SetPasswordForm(NewPasswordMixin, FlaskForm):
    pass


class PreferencesForm(Form):
    language = SelectField(_l("Language"), choices=list(LANGUAGE_LABELS.items()))
    save = SubmitField(_l("Save preferences"))


class SignatureForm(Form):
    """A staff member's reply signature."""

    signature = TextAreaField(_l("Reply signature"), validators=[Length(max=SIGNATURE_MAX_LENGTH)],
                              render_kw={"rows": 4},
                              description=_l("Added below each reply you send, after a line “-- ”. Markdown, as in "
                                             "replies: **bold**, [links](https://…). Leave empty for none."))
    save = SubmitField(_l("Save signature"))


class LanguageForm(Form):
    """The language picker in every page's header."""

    language = SelectField(_l("Language"), choices=list(LANGUAGE_LABELS.items()))
    next = HiddenField()


def coerce_role(value):
    return value if isinstance(value, Role) else Role(value)



class UserForm(Form):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=EMAIL_MAX_LENGTH)], filters=[strip])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=NAME_MAX_LENGTH)], filters=[strip])
    role = SelectField(_l("Role"), coerce=coerce_role,
                       choices=[(role.value, label) for role, label in ROLE_LABELS.items()])
    council_id = SelectField(_l("Council"), coerce=optional_record_id, validators=[Optional()],
                             description=_l("Only for council users."))
    language = SelectField(_l("Language"), choices=list(LANGUAGE_LABELS.items()))
    is_active = BooleanField(_l("Active"), default=True)


class NewUserForm(NewPasswordMixin, UserForm):
    pass


class InviteForm(UserForm):
    """A user to invite: the person chooses the password, and is active once they do."""

    is_active = None  # type: ignore[assignment]  (WTForms: no such field here)
    language = SelectField(_l("Language"), choices=list(LANGUAGE_LABELS.items()),
                           description=_l("The invitation is written in it."))


class RecordFilterForm(Form):
    """The filters of the sign-in record (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    email = StringField(_l("E-mail"), validators=[Optional(), Length(max=EMAIL_MAX_LENGTH)], filters=[strip])
    kind = SelectField(_l("Event"), choices=[("", "—")] + [(kind.value, label) for kind, label in
                                                             SIGN_IN_KIND_LABELS.items()], validators=[Optional()])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=64)], filters=[strip])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("Until"), validators=[Optional()])
