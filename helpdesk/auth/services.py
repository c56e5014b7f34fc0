"""Users, passwords and logins: the rules, in one place for views, CLI and demo data."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from math import ceil
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from helpdesk.auth.models import (NAME_MAX_LENGTH, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH,
                                  LoginFailure, Role, User, new_session_token)
from helpdesk.config import LANGUAGE_LABELS
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.validation import normalise_email
from helpdesk.extensions import db


@cache
def _dummy_hash() -> str:
    """A hash to check against when the account does not exist, so that the answer takes as long (made
    on the first login, not by every command that starts the app)."""
    return generate_password_hash("not a password of anyone")


class LoginRefused(DomainError):
    """Wrong e-mail or password, or an inactive account."""


class LoginThrottled(DomainError):
    """Too many recent failures for this account or address."""


def hash_password(password: str) -> str:
    return generate_password_hash(password)  # Werkzeug's default: scrypt with a random salt


def check_password_rules(password: str, email: str = "") -> None:
    """Refuse a password that is too short, too long or the same as the e-mail."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise DomainError(_l("The password must have at least %(count)d characters.",
                             count=PASSWORD_MIN_LENGTH), "password")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise DomainError(_l("The password must have at most %(count)d characters.",
                             count=PASSWORD_MAX_LENGTH), "password")
    if email and password.strip().lower() == email.lower():
        raise DomainError(_l("The password cannot be your e-mail address."), "password")
    if len(set(password)) < 4:
        raise DomainError(_l("The password is too easy to guess: use more different characters."), "password")


def require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators can manage users."))


def _check_fields(email: str, name: str, role: Role, council_id: int | None, language: str,
                  user: User | None = None) -> str:
    email = normalise_email(email)
    taken = db.session.scalar(select(User.id).where(func.lower(User.email) == email))
    if taken is not None and (user is None or taken != user.id):
        raise DomainError(_l("There is already a user with the e-mail %(email)s.", email=email), "email")
    if not name.strip():
        raise DomainError(_l("The name is required."), "name")
    if len(name.strip()) > NAME_MAX_LENGTH:
        raise DomainError(_l("The name must have at most %(count)d characters.", count=NAME_MAX_LENGTH), "name")
    if role is Role.COUNCIL_USER and council_id is None:
        raise DomainError(_l("A council user must belong to a council."), "council_id")
    if role is not Role.COUNCIL_USER and council_id is not None:
        raise DomainError(_l("Only council users belong to a council."), "council_id")
    if language not in LANGUAGE_LABELS:
        raise DomainError(_l("Unknown language."), "language")
    return email


def create_user(actor: User | None, *, email: str, name: str, role: Role, password: str,
                council_id: int | None = None, language: str = "ca", is_active: bool = True) -> User:
    """Create a user; ``actor`` None means the command line or the demo seeder."""
    require_admin(actor)
    email = _check_fields(email, name, role, council_id, language)
    check_password_rules(password, email)
    user = User(email=email, name=name.strip(), role=role, council_id=council_id, language=language,
                is_active=is_active, password_hash=hash_password(password), session_token=new_session_token())
    db.session.add(user)
    db.session.flush()
    audit.record(actor, "created", user, audit.diff({}, audit.snapshot(user, User.AUDITED)))
    return user


def update_user(actor: User | None, user: User, *, email: str, name: str, role: Role,
                council_id: int | None, language: str, is_active: bool) -> User:
    """Change a user's details; deactivating ends the user's sessions."""
    require_admin(actor)
    if actor is not None and actor.id == user.id and (not is_active or role is not Role.ADMIN):
        raise DomainError(_l("You cannot remove your own administrator access."), "role")
    email = _check_fields(email, name, role, council_id, language, user)
    before = audit.snapshot(user, User.AUDITED)
    user.email, user.name, user.role = email, name.strip(), role
    user.council_id, user.language = council_id, language
    if user.is_active and not is_active:
        user.session_token = new_session_token()
    user.is_active = is_active
    changes = audit.diff(before, audit.snapshot(user, User.AUDITED))
    if changes:
        audit.record(actor, "updated", user, changes)
    return user


def set_password(actor: User | None, user: User, password: str) -> None:
    """Set a new password and end the user's other sessions."""
    if actor is not None and actor.id != user.id:
        require_admin(actor)
    check_password_rules(password, user.email)
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    audit.record(actor, "password_changed", user)


def change_own_password(user: User, current: str, new: str) -> None:
    """A user replaces their password, proving they know the current one."""
    if not check_password_hash(user.password_hash, current):
        raise DomainError(_l("The current password is not correct."), "current_password")
    set_password(user, user, new)


def set_language(user: User, language: str) -> None:
    if language not in LANGUAGE_LABELS:
        raise DomainError(_l("Unknown language."), "language")
    user.language = language


def authenticate(email: str, password: str, address: str, now: datetime, *,
                 max_per_account: int, max_per_address: int, window: timedelta) -> User:
    """The active user with these credentials; refuse after too many recent failures."""
    email = email.strip().lower()
    since = now - window
    account_failures = _failures(LoginFailure.email == email, since)
    address_failures = _failures(LoginFailure.address == address, since)
    throttled = [first for count, first, limit in (account_failures + (max_per_account,),
                                                   address_failures + (max_per_address,)) if count >= limit]
    if throttled:
        wait = max(first + window - now for first in throttled)
        minutes = max(1, ceil(wait.total_seconds() / 60))
        raise LoginThrottled(_l("Too many failed attempts. Try again in %(minutes)d minutes.", minutes=minutes))
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    valid = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if user is None or not valid or not user.is_active:
        # Old failures no longer count; dropping them here keeps the table small without a job.
        db.session.execute(delete(LoginFailure).where(LoginFailure.at < now - max(window, timedelta(days=1))))
        db.session.add(LoginFailure(email=email[:254], address=address[:64], at=now))
        db.session.flush()
        raise LoginRefused(_l("Wrong e-mail or password, or the account is not active."))
    db.session.execute(delete(LoginFailure).where(LoginFailure.email == email))
    user.last_login_at = now
    return user


def _failures(condition: Any, since: datetime) -> tuple[int, datetime | None]:
    """How many failures match since ``since``, and when the oldest of them was."""
    count, first = db.session.execute(
        select(func.count(LoginFailure.id), func.min(LoginFailure.at))
        .where(condition, LoginFailure.at >= since)).one()
    return count, first
