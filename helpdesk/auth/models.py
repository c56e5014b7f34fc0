"""Users and their roles; failed logins kept for throttling."""
from __future__ import annotations

import enum
import secrets
from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.core.models import TimestampMixin, UTCDateTime, enum_type, utcnow
from helpdesk.extensions import db

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
NAME_MAX_LENGTH = 120


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


def new_session_token() -> str:
    return secrets.token_urlsafe(32)


class User(UserMixin, TimestampMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role))
    council_id: Mapped[int | None] = mapped_column(ForeignKey("councils.id"), index=True)
    language: Mapped[str] = mapped_column(String(8), default="ca")
    is_active: Mapped[bool] = mapped_column(default=True)
    # What the session cookie holds instead of the id: changing the password or deactivating the
    # account replaces it, which ends every other session of the user.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    council = relationship("Council", lazy="joined")

    AUDITED = ("email", "name", "role", "council_id", "language", "is_active")

    def get_id(self) -> str:
        return self.session_token

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    def has_role(self, *roles: Role) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class LoginFailure(db.Model):
    """One failed login attempt; recent ones decide whether the next attempt is refused."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_email_at", "email", "at"),
                      Index("ix_login_failures_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(EMAIL_MAX_LENGTH))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
