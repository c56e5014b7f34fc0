"""Mailboxes the desk fetches from, configured by administrators: saving them (the password sealed,
never shown again) and trying the connection before relying on it."""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Length, NumberRange

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.mail import imap
from helpdesk.mail.models import Mailbox, MailboxState, SECURITY_CHOICES
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.forms import Form, strip
from helpdesk.core.models import utcnow
from helpdesk.core.sealing import SealBroken, seal
from helpdesk.extensions import db

_HOST = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")
SECURITY_LABELS = {"ssl": _l("TLS from the start (IMAPS, usually port 993)"),
                   "starttls": _l("STARTTLS (usually port 143)"),
                   "none": _l("None: only for a server on this machine")}


class MailboxForm(Form):
    host = StringField(_l("Server"), validators=[DataRequired(), Length(max=255)], filters=[strip])
    port = IntegerField(_l("Port"), validators=[DataRequired(), NumberRange(1, 65535)], default=993)
    security = SelectField(_l("Security"), choices=list(SECURITY_LABELS.items()), default="ssl")
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=255)], filters=[strip])
    password = PasswordField(_l("Password"), validators=[Length(max=500)],
                             description=_l("Leave it empty to keep the current one."))
    folder = StringField(_l("Folder"), validators=[DataRequired(), Length(max=200)], filters=[strip],
                         default="INBOX")
    processed_folder = StringField(_l("Folder for processed mail"), validators=[Length(max=200)], filters=[strip],
                                   description=_l("Empty: processed mail is marked as read and left where it is."))
    poll_seconds = IntegerField(_l("Check every (seconds)"), validators=[DataRequired(), NumberRange(5, 3600)],
                                default=60, description=_l("Only for servers without IDLE; with IDLE new mail "
                                                           "arrives within seconds."))
    is_active = BooleanField(_l("Fetch mail from this mailbox"), default=True)


@dataclass
class MailboxData:
    host: str
    port: int
    security: str
    username: str
    password: str  # empty: keep the current one
    folder: str = "INBOX"
    processed_folder: str = ""
    poll_seconds: int = 60
    is_active: bool = True


def _host(raw: str) -> str:
    host = raw.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    if not _HOST.match(host):
        raise DomainError(_l("“%(value)s” is not a server name or address.", value=raw.strip()), "host")
    return host


def save_mailbox(actor: User | None, data: MailboxData, mailbox: Mailbox | None = None) -> Mailbox:
    """Create or change a mailbox; the fetchers pick the change up within a minute."""
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators configure mailboxes."))
    host = _host(data.host)
    if data.security not in SECURITY_CHOICES:
        raise DomainError(_l("Unknown value “%(value)s”.", value=data.security), "security")
    if not 1 <= data.port <= 65535:
        raise DomainError(_l("The port is a number from 1 to 65535."), "port")
    if not 5 <= data.poll_seconds <= 3600:
        raise DomainError(_l("Check between every 5 seconds and every hour."), "poll_seconds")
    if mailbox is None and not data.password:
        raise DomainError(_l("Type the mailbox's password."), "password")
    if data.processed_folder and data.processed_folder == data.folder:
        raise DomainError(_l("Processed mail must go to another folder."), "processed_folder")
    same = db.session.scalar(select(Mailbox).where(Mailbox.host == host,
                                                        Mailbox.username == data.username,
                                                        Mailbox.folder == data.folder))
    if same is not None and same is not mailbox:
        raise DomainError(_l("This mailbox is already configured."), "username")
    before = audit.snapshot(mailbox, Mailbox.AUDITED) if mailbox else {}
    if mailbox is None:
        mailbox = Mailbox(created_at=utcnow())
        db.session.add(mailbox)
    mailbox.host, mailbox.port, mailbox.security, mailbox.username = host, data.port, data.security, data.username
    mailbox.folder, mailbox.processed_folder = data.folder, data.processed_folder
    mailbox.poll_seconds, mailbox.is_active, mailbox.updated_at = data.poll_seconds, data.is_active, utcnow()
    changes = audit.diff(before, audit.snapshot(mailbox, Mailbox.AUDITED))
    if data.password:
        mailbox.password_sealed = seal(data.password, current_app.config["SECRET_KEY"])
        changes["password"] = {"before": None, "after": "••••"}  # that it changed, never what it is
    db.session.flush()
    audit.record(actor, "created" if not before else "updated", mailbox, changes)
    return mailbox


def try_mailbox(mailbox: Mailbox) -> tuple[bool, str]:
    """Log in, open the folders, and say what was found (or what went wrong) in words an administrator
    can act on."""
    try:
        settings = mailbox.settings(current_app.config)
    except SealBroken:
        return False, _("The password was saved under another secret key: type it again.")
    try:
        connection = imap.connect(settings)
    except imap.ImapError as error:
        return False, _("Could not connect: %(error)s", error=str(error))
    try:
        count = imap.message_count(connection, settings.folder)
        if settings.processed_folder and imap.message_count(connection, settings.processed_folder) is None:
            return False, _("Connected, but the folder “%(folder)s” does not exist.",
                            folder=settings.processed_folder)
        idle = "IDLE" in connection.capabilities
        return True, _("Connected: %(count)s messages in %(folder)s; new mail arrives %(how)s.",
                       count=count, folder=settings.folder,
                       how=_("within seconds (IDLE)") if idle else _("at each check"))
    finally:
        try:
            connection.logout()
        except Exception:  # noqa: BLE001 - the answer is already known
            pass


def mailbox_states() -> dict[str, MailboxState]:
    return {state.name: state for state in db.session.scalars(select(MailboxState))}
