"""Forms of the tickets domain: new ticket, reply, note, call, fields, merge, bulk, canned replies."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (BooleanField, DateTimeLocalField, HiddenField, IntegerField, SelectField, SelectMultipleField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from helpdesk.core.forms import Form, optional_record_id, record_id, strip
from helpdesk.tickets.models import BODY_MAX_LENGTH, SUBJECT_MAX_LENGTH
from helpdesk.tickets.states import LABELS, CallDirection, Category, Channel, Priority, TicketStatus


def choices(enum_class, only=None):
    return [(item.value, label) for item, label in LABELS[enum_class].items() if only is None or item in only]


def coerce_to(enum_class):
    def coerce(value):
        return value if isinstance(value, enum_class) else enum_class(value)
    return coerce



COUNCIL_CATEGORIES = (Category.CONFIGURATION, Category.USAGE, Category.INCIDENT, Category.OUTAGE, Category.OTHER)
ATTACHMENTS_HELP = _l("Up to 10 MB a file and 25 MB in all.")


class NewTicketForm(Form):
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=SUBJECT_MAX_LENGTH)], filters=[strip])
    category = SelectField(_l("Category"), coerce=coerce_to(Category), choices=choices(Category, COUNCIL_CATEGORIES))
    instance_id = SelectField(_l("Platform"), coerce=optional_record_id, validators=[Optional()])
    body = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=BODY_MAX_LENGTH)],
                         description=_l("What happened, where (the page's address helps) and what you expected."))
    attachments = MultipleFileField(_l("Attachments"), description=ATTACHMENTS_HELP)


class StaffTicketForm(NewTicketForm):
    """Opening a ticket on a council's behalf (a letter, a conversation in a meeting…)."""

    category = SelectField(_l("Category"), coerce=coerce_to(Category), choices=choices(Category))
    priority = SelectField(_l("Priority"), coerce=coerce_to(Priority), choices=choices(Priority), default="normal")
    channel = SelectField(_l("Channel"), coerce=coerce_to(Channel), choices=choices(Channel), default="email")
    council_id = SelectField(_l("Council"), coerce=optional_record_id, validators=[Optional()])
    requester_contact_id = SelectField(_l("Requester (contact)"), coerce=optional_record_id, validators=[Optional()])
    requester_name = StringField(_l("Requester's name"), validators=[Optional(), Length(max=200)], filters=[strip])
    requester_email = StringField(_l("Requester's e-mail"), validators=[Optional(), Length(max=254)], filters=[strip])
    requester_phone = StringField(_l("Requester's phone"), validators=[Optional(), Length(max=40)], filters=[strip])


class ReplyForm(Form):
    body = TextAreaField(_l("Reply"), validators=[Length(max=BODY_MAX_LENGTH)])
    canned_reply_id = SelectField(_l("Canned reply"), coerce=optional_record_id, validators=[Optional()])
    attachments = MultipleFileField(_l("Attachments"), description=ATTACHMENTS_HELP)
    then = SelectField(_l("Then"), choices=[
        ("", _l("Keep the status")), (TicketStatus.PENDING.value, _l("Wait for the council")),
        (TicketStatus.RESOLVED.value, _l("Mark as resolved"))])


class NoteForm(Form):
    body = TextAreaField(_l("Internal note"), validators=[DataRequired(), Length(max=BODY_MAX_LENGTH)],
                         description=_l("Only the support team sees notes."))
    attachments = MultipleFileField(_l("Attachments"), description=ATTACHMENTS_HELP)


class CouncilReplyForm(Form):
    body = TextAreaField(_l("Your message"), validators=[DataRequired(), Length(max=BODY_MAX_LENGTH)])
    attachments = MultipleFileField(_l("Attachments"), description=ATTACHMENTS_HELP)


class CallForm(Form):
    caller_number = StringField(_l("Caller's number"), validators=[Optional(), Length(max=40)], filters=[strip])
    caller_name = StringField(_l("Caller's name"), validators=[Optional(), Length(max=200)], filters=[strip])
    direction = SelectField(_l("Direction"), coerce=coerce_to(CallDirection), choices=choices(CallDirection))
    started_at = DateTimeLocalField(_l("Started at"), validators=[DataRequired()], format="%Y-%m-%dT%H:%M")
    duration_minutes = IntegerField(_l("Duration (minutes)"), validators=[Optional(), NumberRange(0, 1440)],
                                    default=0)
    category = SelectField(_l("Category"), coerce=coerce_to(Category), choices=choices(Category))
    summary = TextAreaField(_l("Summary"), validators=[DataRequired(), Length(max=BODY_MAX_LENGTH)])
    ticket_number = StringField(_l("Add to ticket number"), validators=[Optional(), Length(max=12)],
                                filters=[strip], description=_l("Leave empty to open a new ticket."))
    subject = StringField(_l("Subject of the new ticket"), validators=[Optional(), Length(max=SUBJECT_MAX_LENGTH)],
                          filters=[strip])
    council_id = SelectField(_l("Council"), coerce=optional_record_id, validators=[Optional()])
    requester_contact_id = SelectField(_l("Contact"), coerce=optional_record_id, validators=[Optional()])


class CallLogForm(CallForm):
    """Logging a call from a ticket's page: the ticket, its council and contact are known."""

    ticket_number = None
    subject = None
    council_id = None
    requester_contact_id = None


class TicketFieldsForm(Form):
    version = HiddenField()
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=SUBJECT_MAX_LENGTH)], filters=[strip])
    status = SelectField(_l("Status"), coerce=coerce_to(TicketStatus), choices=choices(TicketStatus))
    priority = SelectField(_l("Priority"), coerce=coerce_to(Priority), choices=choices(Priority))
    category = SelectField(_l("Category"), coerce=coerce_to(Category), choices=choices(Category))
    council_id = SelectField(_l("Council"), coerce=optional_record_id, validators=[Optional()])
    instance_id = SelectField(_l("Platform"), coerce=optional_record_id, validators=[Optional()])
    assignee_id = SelectField(_l("Assignee"), coerce=optional_record_id, validators=[Optional()])
    requester_name = StringField(_l("Requester's name"), validators=[Optional(), Length(max=200)], filters=[strip])
    requester_email = StringField(_l("Requester's e-mail"), validators=[Optional(), Length(max=254)], filters=[strip])
    requester_phone = StringField(_l("Requester's phone"), validators=[Optional(), Length(max=40)], filters=[strip])


class MergeForm(Form):
    target = StringField(_l("Merge into ticket number"), validators=[DataRequired(), Length(max=12)],
                         filters=[strip], description=_l("This ticket's messages move there and this ticket closes."))


class BulkForm(Form):
    tickets = SelectMultipleField(_l("Tickets"), coerce=record_id, validate_choice=False)
    assignee = SelectField(_l("Assign to"), validators=[Optional()])
    status = SelectField(_l("Status"), choices=[("", "—")] + choices(TicketStatus), validators=[Optional()])
    priority = SelectField(_l("Priority"), choices=[("", "—")] + choices(Priority), validators=[Optional()])


class CannedReplyForm(Form):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)], filters=[strip])
    body = TextAreaField(_l("Text"), validators=[DataRequired(), Length(max=BODY_MAX_LENGTH)],
                         description=_l("Placeholders: {requester_name}, {ticket_number}, {council}, {instance_url}."))
    is_active = BooleanField(_l("In use"), default=True)
