"""Mailboxes the desk fetches from, configured by administrators: saving them (the password, or the OAuth2
client secret and refresh token, sealed and never shown again) and trying the connection before relying
on it."""
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
from helpdesk.core import audit, oauth2
from helpdesk.mail import imap
from helpdesk.mail.models import AUTH_METHODS, Mailbox, MailboxState, SECURITY_CHOICES
from helpdesk.core.errors import DomainError, NotAllowed, Problems
from helpdesk.core.forms import Form, strip
from helpdesk.core.models import utcnow
from helpdesk.core.sealing import SealBroken, seal
from helpdesk.extensions import db

_HOST = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*$")
SECURITY_LABELS = {"ssl": _l("TLS from the start (IMAPS, usually port 993)"),
                   "starttls": _l("STARTTLS (usually port 143)"),
                   "none": _l("None: only for a server on this machine")}
AUTH_LABELS = {"password": _l("Password"), "oauth2": _l("OAuth2 (Microsoft 365, Google Workspace)")}
GRANT_LABELS = {"client_credentials": _l("Client credentials: the application's own permission on the mailbox"),
                "refresh_token": _l("Refresh token: the mailbox's user signed in once and allowed it")}
KEEP_CURRENT = {"password": _l("Leave it empty to keep the current one."),
                "oauth2_client_secret": _l("Leave it empty to keep the current secret."),
                "oauth2_refresh_token": _l("Only for the refresh-token grant. Leave it empty to keep the current "
                                           "refresh token.")}


class MailboxForm(Form):
    host = StringField(_l("Server"), validators=[DataRequired(), Length(max=255)], filters=[strip])
    port = IntegerField(_l("Port"), validators=[DataRequired(), NumberRange(1, 65535)], default=993)
    security = SelectField(_l("Security"), choices=list(SECURITY_LABELS.items()), default="ssl")
    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=255)], filters=[strip],
                           description=_l("For OAuth2, the mailbox's address."))
    auth_method = SelectField(_l("Sign-in"), choices=list(AUTH_LABELS.items()), default="password")
    password = PasswordField(_l("Password"), validators=[Length(max=500)])
    oauth2_grant = SelectField(_l("OAuth2 grant"), choices=list(GRANT_LABELS.items()), default="client_credentials")
    oauth2_token_url = StringField(_l("Token URL"), validators=[Length(max=500)], filters=[strip],
                                   description=_l("Microsoft 365: https://login.microsoftonline.com/TENANT-ID/"
                                                  "oauth2/v2.0/token; Google: https://oauth2.googleapis.com/token."))
    oauth2_client_id = StringField(_l("Client id"), validators=[Length(max=255)], filters=[strip],
                                   description=_l("The application (client) id of the desk's registration."))
    oauth2_client_secret = PasswordField(_l("Client secret"), validators=[Length(max=1000)])
    oauth2_scope = StringField(_l("Scope"), validators=[Length(max=500)], filters=[strip],
                               description=_l("Microsoft 365 with client credentials: "
                                              "https://outlook.office365.com/.default; with a refresh token: "
                                              "https://outlook.office365.com/IMAP.AccessAsUser.All offline_access; "
                                              "Google: https://mail.google.com/."))
    oauth2_refresh_token = PasswordField(_l("Refresh token"), validators=[Length(max=8000)])
    folder = StringField(_l("Folder"), validators=[DataRequired(), Length(max=200)], filters=[strip],
                         default="INBOX")
    processed_folder = StringField(_l("Folder for processed mail"), validators=[Length(max=200)], filters=[strip],
                                   description=_l("Empty: processed mail is marked as read and left where it is."))
    poll_seconds = IntegerField(_l("Check every (seconds)"), validators=[DataRequired(), NumberRange(5, 3600)],
                                default=60, description=_l("Only for servers without IDLE; with IDLE new mail "
                                                           "arrives within seconds."))
    is_active = BooleanField(_l("Fetch mail from this mailbox"), default=True)

    def describe_secrets(self, mailbox: Mailbox | None) -> None:
        """Say "leave it empty to keep it" only beside a secret the mailbox has."""
        for name, hint in KEEP_CURRENT.items():
            kept = mailbox is not None and bool(getattr(mailbox, f"{name}_sealed"))
            self[name].description = hint if kept else ""
        if not self.oauth2_refresh_token.description:
            self.oauth2_refresh_token.description = _l("Only for the refresh-token grant.")
        if not self.oauth2_grant.data:
            self.oauth2_grant.data = "client_credentials"  # a password mailbox has none yet


@dataclass
class MailboxData:
    host: str
    port: int
    security: str
    username: str
    password: str  # empty: keep the current one (so for the secrets below)
    folder: str = "INBOX"
    processed_folder: str = ""
    poll_seconds: int = 60
    is_active: bool = True
    auth_method: str = "password"
    oauth2_grant: str = "client_credentials"
    oauth2_token_url: str = ""
    oauth2_client_id: str = ""
    oauth2_client_secret: str = ""
    oauth2_scope: str = ""
    oauth2_refresh_token: str = ""

    @classmethod
    def from_form(cls, form: MailboxForm) -> MailboxData:
        return cls(host=form.host.data or "", port=form.port.data or 0, security=form.security.data,
                   username=form.username.data or "", password=form.password.data or "",
                   folder=form.folder.data or "", processed_folder=form.processed_folder.data or "",
                   poll_seconds=form.poll_seconds.data or 0,
                   is_active=form.is_active.data, auth_method=form.auth_method.data,
                   oauth2_grant=form.oauth2_grant.data, oauth2_token_url=form.oauth2_token_url.data or "",
                   oauth2_client_id=form.oauth2_client_id.data or "",
                   oauth2_client_secret=form.oauth2_client_secret.data or "",
                   oauth2_scope=form.oauth2_scope.data or "",
                   oauth2_refresh_token=(form.oauth2_refresh_token.data or "").strip())


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
    if data.auth_method not in AUTH_METHODS:
        raise DomainError(_l("Unknown value “%(value)s”.", value=data.auth_method), "auth_method")
    Problems.raise_if_any(_sign_in_problems(data, mailbox))
    if data.processed_folder and data.processed_folder == data.folder:
        raise DomainError(_l("Processed mail must go to another folder."), "processed_folder")
    same = db.session.scalar(select(Mailbox).where(Mailbox.host == host,
                                                        Mailbox.username == data.username,
                                                        Mailbox.folder == data.folder))
    if same is not None and same is not mailbox:
        raise DomainError(_l("This mailbox is already configured."), "username")
    before = audit.snapshot(mailbox, Mailbox.AUDITED) if mailbox else {}
    secret_key = current_app.config["SECRET_KEY"]
    try:
        old_grant = mailbox.oauth2(secret_key) if mailbox is not None else None
    except SealBroken:
        old_grant = None
    if mailbox is None:
        mailbox = Mailbox(created_at=utcnow())
        db.session.add(mailbox)
    mailbox.host, mailbox.port, mailbox.security, mailbox.username = host, data.port, data.security, data.username
    mailbox.folder, mailbox.processed_folder = data.folder, data.processed_folder
    mailbox.poll_seconds, mailbox.is_active, mailbox.updated_at = data.poll_seconds, data.is_active, utcnow()
    mailbox.auth_method = data.auth_method
    oauth = data.auth_method == "oauth2"
    mailbox.oauth2_grant = data.oauth2_grant if oauth else ""
    mailbox.oauth2_token_url = data.oauth2_token_url if oauth else ""
    mailbox.oauth2_client_id = data.oauth2_client_id if oauth else ""
    mailbox.oauth2_scope = data.oauth2_scope if oauth else ""
    changes = audit.diff(before, audit.snapshot(mailbox, Mailbox.AUDITED))
    # Secrets: that one changed, never what it is; one the sign-in no longer uses is not kept.
    for name, typed, used in (("password", data.password, not oauth),
                              ("oauth2_client_secret", data.oauth2_client_secret, oauth),
                              ("oauth2_refresh_token", data.oauth2_refresh_token,
                               oauth and data.oauth2_grant == "refresh_token")):
        column = f"{name}_sealed"
        if used and typed:
            setattr(mailbox, column, seal(typed, secret_key))
            changes[name] = {"before": None, "after": "••••"}
        elif not used and getattr(mailbox, column):
            setattr(mailbox, column, "")
            changes[name] = {"before": "••••", "after": None}
    new_grant = mailbox.oauth2(secret_key)
    if old_grant is not None and old_grant.refresh_token and (
            new_grant is None or (new_grant.token_url, new_grant.client_id, new_grant.refresh_token)
            != (old_grant.token_url, old_grant.client_id, old_grant.refresh_token)):
        oauth2.discard_refresh_token(old_grant)  # the refresh token its rotations came from is replaced
    db.session.flush()
    audit.record(actor, "created" if not before else "updated", mailbox, changes)
    return mailbox


def _sign_in_problems(data: MailboxData, mailbox: Mailbox | None) -> list[DomainError]:
    """What the chosen sign-in still lacks: a secret is required unless the mailbox keeps one for it."""
    if data.auth_method == "password":
        had = mailbox is not None and bool(mailbox.password_sealed)
        return [] if data.password or had else [DomainError(_l("Type the mailbox's password."), "password")]
    problems = []
    if data.oauth2_grant not in oauth2.GRANTS:
        problems.append(DomainError(_l("Unknown value “%(value)s”.", value=data.oauth2_grant), "oauth2_grant"))
    if not data.oauth2_token_url:
        problems.append(DomainError(_l("Type the provider's token URL."), "oauth2_token_url"))
    elif problem := oauth2.token_url_problem(data.oauth2_token_url):
        problems.append(DomainError(problem, "oauth2_token_url"))
    if not data.oauth2_client_id:
        problems.append(DomainError(_l("Type the client id of the desk's registration."), "oauth2_client_id"))
    kept = mailbox if mailbox is not None and mailbox.uses_oauth2 else None  # what it signs in with now
    if data.oauth2_grant == "client_credentials" and not data.oauth2_client_secret and not (
            kept and kept.oauth2_client_secret_sealed):
        problems.append(DomainError(_l("Type the client secret: the client-credentials grant needs it."),
                                    "oauth2_client_secret"))
    if data.oauth2_grant == "refresh_token" and not data.oauth2_refresh_token and not (
            kept and kept.oauth2_grant == "refresh_token" and kept.oauth2_refresh_token_sealed):
        problems.append(DomainError(_l("Type the refresh token of the mailbox's user."), "oauth2_refresh_token"))
    return problems


def try_mailbox(mailbox: Mailbox) -> tuple[bool, str]:
    """Log in, open the folders, and say what was found (or what went wrong) in words an administrator
    can act on."""
    try:
        settings = mailbox.settings(current_app.config)
    except SealBroken:
        if mailbox.uses_oauth2:
            return False, _("The client secret and refresh token were saved under another secret key: type them "
                            "again.")
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
