"""Users and their roles, their sessions on the server, the record of sign-ins, single-use links (invitations,
password resets) and second factors."""
from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.core.models import TimestampMixin, UTCDateTime, enum_type, utcnow
from helpdesk.extensions import db

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 120
SIGNATURE_MAX_LENGTH = 2000


class Role(enum.Enum):
    ADMIN = "admin"
    AGENT = "agent"
    TECHNICIAN = "technician"
    CATALOGUE_MANAGER = "catalogue_manager"
    OTPGL_APPROVER = "otpgl_approver"
    COUNCIL_USER = "council_user"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.ADMIN: _l("Administrator"),
    Role.AGENT: _l("Support agent"),
    Role.TECHNICIAN: _l("Technician"),
    Role.CATALOGUE_MANAGER: _l("Catalogue manager"),
    Role.OTPGL_APPROVER: _l("OTPGL approver"),
    Role.COUNCIL_USER: _l("Council user"),
}
STAFF_ROLES = frozenset(Role) - {Role.COUNCIL_USER}


def new_token() -> str:
    """A secret for a link or a session cookie (256 random bits)."""
    return secrets.token_urlsafe(32)


def digest(token: str) -> str:
    """What the database keeps of a secret token: its SHA-256, so a copy of the database opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    # Empty until an invited person sets a password: nothing signs in with it.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    council_id: Mapped[int | None] = mapped_column(ForeignKey("councils.id"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="ca")
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The TOTP secret, sealed with the desk's key; set once enrolment is confirmed.
    totp_secret: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last time step whose code was accepted: the same code is never accepted twice.
    totp_last_step: Mapped[int | None]
    # Added below a staff member's replies (after "-- "), in the mail and on the ticket; Markdown like the reply.
    signature: Mapped[str] = mapped_column(Text, default="", server_default="")

    council = relationship("Council", lazy="joined")

    AUDITED = ("email", "name", "role", "council_id", "language", "is_active")

    #: The session this request runs in (set by the loader or at sign-in; not a column).
    current_session = None  # a UserSession

    def get_id(self) -> str | None:
        return self.current_session.token if self.current_session is not None else None

    # Flask-Login's UserMixin compares users by get_id(), which is the session's token here (None outside a
    # request): two different people would be "equal". The ORM keeps one object per row, so identity is right.
    __eq__ = object.__eq__
    __ne__ = object.__ne__
    __hash__ = object.__hash__

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def has_password(self) -> bool:
        return bool(self.password_hash)

    @property
    def has_second_factor(self) -> bool:
        return self.totp_enabled_at is not None

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class SignInMethod(enum.Enum):
    PASSWORD = "password"
    DECIDIM = "decidim"
    INVITATION = "invitation"
    RESET = "reset"


SIGN_IN_METHOD_LABELS = {
    SignInMethod.PASSWORD: _l("password"),
    SignInMethod.DECIDIM: _l("the council's Decidim"),
    SignInMethod.INVITATION: _l("invitation link"),
    SignInMethod.RESET: _l("password-reset link"),
}


class SessionEnd(enum.Enum):
    SIGNED_OUT = "signed_out"
    IDLE = "idle"
    EXPIRED = "expired"
    ENDED_BY_USER = "ended_by_user"  # from the list of one's sessions
    PASSWORD_CHANGED = "password_changed"
    DEACTIVATED = "deactivated"
    SECOND_FACTOR_RESET = "second_factor_reset"


class UserSession(db.Model):
    """A signed-in browser: the cookie holds a random token, the database its digest; ending the row ends
    the session wherever its cookie was copied."""

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_ended", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    method: Mapped[SignInMethod] = mapped_column(enum_type(SignInMethod))
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[SessionEnd | None] = mapped_column(enum_type(SessionEnd))

    user: Mapped[User] = relationship(lazy="joined")

    #: The cookie's token, known only in the request that made or loaded the session (not a column).
    token = None  # a str


class SignInKind(enum.Enum):
    SIGNED_IN = "signed_in"
    FAILED = "failed"
    THROTTLED = "throttled"
    SECOND_FACTOR_FAILED = "second_factor_failed"
    RECOVERY_CODE_USED = "recovery_code_used"
    SIGNED_OUT = "signed_out"
    SESSION_ENDED = "session_ended"
    OWNER_WARNED = "owner_warned"
    RESET_REQUESTED = "reset_requested"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    SECOND_FACTOR_ENROLLED = "second_factor_enrolled"
    SECOND_FACTOR_RESET = "second_factor_reset"
    INVITATION_SENT = "invitation_sent"
    INVITATION_ACCEPTED = "invitation_accepted"
    INVITATION_WITHDRAWN = "invitation_withdrawn"
    DECIDIM_REFUSED = "decidim_refused"

    @property
    def label(self) -> str:
        return str(SIGN_IN_KIND_LABELS[self])


SIGN_IN_KIND_LABELS = {
    SignInKind.SIGNED_IN: _l("Signed in"),
    SignInKind.FAILED: _l("Sign-in failed"),
    SignInKind.THROTTLED: _l("Sign-in refused: too many failures"),
    SignInKind.SECOND_FACTOR_FAILED: _l("Wrong second-factor code"),
    SignInKind.RECOVERY_CODE_USED: _l("Recovery code used"),
    SignInKind.SIGNED_OUT: _l("Signed out"),
    SignInKind.SESSION_ENDED: _l("Session ended"),
    SignInKind.OWNER_WARNED: _l("Owner warned of repeated failures"),
    SignInKind.RESET_REQUESTED: _l("Password reset requested"),
    SignInKind.PASSWORD_RESET: _l("Password reset"),
    SignInKind.PASSWORD_CHANGED: _l("Password changed"),
    SignInKind.SECOND_FACTOR_ENROLLED: _l("Second factor enrolled"),
    SignInKind.SECOND_FACTOR_RESET: _l("Second factor reset"),
    SignInKind.INVITATION_SENT: _l("Invitation sent"),
    SignInKind.INVITATION_ACCEPTED: _l("Invitation accepted"),
    SignInKind.INVITATION_WITHDRAWN: _l("Invitation withdrawn"),
    SignInKind.DECIDIM_REFUSED: _l("Sign-in with Decidim refused"),
}


class SignInEvent(db.Model):
    """One line of the sign-in record: when, who (the account, or the e-mail typed), from where, how."""

    __tablename__ = "sign_in_events"
    __table_args__ = (Index("ix_sign_in_events_email_at", "email", "at"),
                      Index("ix_sign_in_events_address_at", "address", "at"),
                      Index("ix_sign_in_events_user_at", "user_id", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    kind: Mapped[SignInKind] = mapped_column(enum_type(SignInKind))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    method: Mapped[str] = mapped_column(String(20), default="")
    # Who did it when it was not the person (an administrator inviting, resetting a second factor).
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    detail: Mapped[str] = mapped_column(String(255), default="")

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])


class TokenPurpose(enum.Enum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


class AccountToken(db.Model):
    """A single-use link: an invitation to set a first password, or a password reset."""

    __tablename__ = "account_tokens"
    __table_args__ = (Index("ix_account_tokens_user_purpose", "user_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[TokenPurpose] = mapped_column(enum_type(TokenPurpose))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and self.withdrawn_at is None and now < self.expires_at


class RecoveryCode(db.Model):
    """One of the ten single-use codes that stand in for the second factor when the phone is lost."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_digest: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class DecidimIdentity(db.Model):
    """A person's account on a council's Decidim, linked to their desk account when they signed in with it."""

    __tablename__ = "decidim_identities"
    __table_args__ = (UniqueConstraint("instance_id", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(64))  # the Decidim user id
    nickname: Mapped[str] = mapped_column(String(64), default="")
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
