"""Users, passwords and signing in: the rules, in one place for views, CLI and demo data."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from math import ceil
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy import func, select

from helpdesk.auth import passwords, sessions
from helpdesk.auth.models import NAME_MAX_LENGTH, Role, SessionEnd, SignInEvent, SignInKind, SignInMethod, User
from helpdesk.auth.passwords import check_password_rules, hash_password
from helpdesk.auth.record import Client, note
from helpdesk.config import LANGUAGE_LABELS
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import utcnow
from helpdesk.core.validation import normalise_email
from helpdesk.extensions import db

FAILURES = (SignInKind.FAILED, SignInKind.SECOND_FACTOR_FAILED)


class LoginRefused(DomainError):
    """Wrong e-mail or password, or an inactive account."""


class LoginThrottled(DomainError):
    """Too many recent failures for this account from this address, or from this address."""


@dataclass(frozen=True)
class Throttle:
    """The sign-in limits (settings LOGIN_*): see config.py."""

    per_pair: int = 5
    per_address: int = 20
    longest_wait: timedelta = timedelta(minutes=15)
    notice_after: int = 20

    @classmethod
    def from_config(cls, config: Any) -> Throttle:
        return cls(config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
                   timedelta(minutes=config["LOGIN_THROTTLE_MINUTES"]), config["LOGIN_ATTACK_NOTICE_FAILURES"])


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


def create_user(actor: User | None, *, email: str, name: str, role: Role, password: str | None,
                council_id: int | None = None, language: str = "ca", is_active: bool = True) -> User:
    """Create a user; ``actor`` None means the command line or the demo seeder; ``password`` None makes an
    account that cannot sign in until its person sets one (an invitation)."""
    require_admin(actor)
    email = _check_fields(email, name, role, council_id, language)
    if password is not None:
        check_password_rules(password, email=email, name=name)
    user = User(email=email, name=name.strip(), role=role, council_id=council_id, language=language,
                is_active=is_active, password_hash=hash_password(password) if password is not None else "")
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
        sessions.end_all(user, SessionEnd.DEACTIVATED, utcnow())
    user.is_active = is_active
    changes = audit.diff(before, audit.snapshot(user, User.AUDITED))
    if changes:
        audit.record(actor, "updated", user, changes)
    return user


def set_password(actor: User | None, user: User, password: str, *, client: Client = Client(),
                 kind: SignInKind = SignInKind.PASSWORD_CHANGED) -> None:
    """Set a new password and end the user's other sessions (all of them when an administrator sets it)."""
    if actor is not None and actor.id != user.id:
        require_admin(actor)
    check_password_rules(password, email=user.email, name=user.name)
    user.password_hash = hash_password(password)
    now = utcnow()
    keep = user.current_session if actor is not None and actor.id == user.id else None
    sessions.end_all(user, SessionEnd.PASSWORD_CHANGED, now, keep=keep)
    audit.record(actor, "password_changed", user)
    note(kind, user=user, client=client, actor=actor if actor is not None and actor.id != user.id else None, now=now)
    if kind is not SignInKind.INVITATION_ACCEPTED:  # a first password is no news to its person
        from helpdesk.auth import mail  # here: mail renders templates, which the seeder's users do not need
        mail.tell_password_changed(user, now)


def change_own_password(user: User, current: str, new: str, client: Client = Client()) -> None:
    """A user replaces their password, proving they know the current one."""
    if not passwords.verify(user.password_hash, current)[0]:
        raise DomainError(_l("The current password is not correct."), "current_password")
    set_password(user, user, new, client=client)


def set_language(user: User, language: str) -> None:
    if language not in LANGUAGE_LABELS:
        raise DomainError(_l("Unknown language."), "language")
    user.language = language


def authenticate(email: str, password: str, client: Client, now: datetime, limits: Throttle) -> User:
    """The active user with these credentials. Refused while this account has failed too often from this
    address (the owner can still sign in from elsewhere) or this address too often whatever the account."""
    email = email.strip().lower()[:254]
    wait = _wait(email, client.address, now, limits)
    if wait is not None:
        note(SignInKind.THROTTLED, email=email, client=client, method=SignInMethod.PASSWORD.value, now=now)
        minutes = max(1, ceil(wait.total_seconds() / 60))
        raise LoginThrottled(lazy_ngettext("Too many failed attempts from this address. Try again in %(num)d minute.",
                                           "Too many failed attempts from this address. Try again in %(num)d minutes.",
                                           minutes))
    user = db.session.scalar(select(User).where(func.lower(User.email) == email))
    valid, outdated = passwords.verify(user.password_hash if user else passwords.dummy_hash(), password)
    if user is None or not valid or not user.is_active:
        note(SignInKind.FAILED, user=user, email=email, client=client, method=SignInMethod.PASSWORD.value, now=now)
        if user is not None:
            _warn_owner_of_attack(user, now, limits)
        raise LoginRefused(_l("Wrong e-mail or password, or the account is not active."))
    if outdated:
        user.password_hash = hash_password(password)  # an older scheme or cost: upgraded now that we have it
    return user


def _wait(email: str, address: str, now: datetime, limits: Throttle) -> timedelta | None:
    """How long this attempt must wait, or None. A pair's wait doubles with each failure past the limit
    (1, 2, 4 … minutes, at most ``longest_wait``); a success from the pair starts it afresh."""
    last_success = db.session.scalar(select(func.max(SignInEvent.at)).where(
        SignInEvent.email == email, SignInEvent.address == address, SignInEvent.kind == SignInKind.SIGNED_IN))
    since = max(filter(None, (last_success, now - timedelta(days=1))))
    count, last = db.session.execute(select(func.count(SignInEvent.id), func.max(SignInEvent.at)).where(
        SignInEvent.email == email, SignInEvent.address == address, SignInEvent.kind.in_(FAILURES),
        SignInEvent.at > since)).one()
    waits = []
    if count >= limits.per_pair and last is not None:
        delay = min(timedelta(minutes=2 ** min(count - limits.per_pair, 20)), limits.longest_wait)
        waits.append(last + delay - now)
    count, first = db.session.execute(select(func.count(SignInEvent.id), func.min(SignInEvent.at)).where(
        SignInEvent.address == address, SignInEvent.kind.in_(FAILURES),
        SignInEvent.at >= now - limits.longest_wait)).one()
    if count >= limits.per_address and first is not None:
        waits.append(first + limits.longest_wait - now)
    longest = max(waits, default=None)
    return longest if longest is not None and longest > timedelta(0) else None


def _warn_owner_of_attack(user: User, now: datetime, limits: Throttle) -> None:
    """Tell the owner once a day when the account fails ``notice_after`` times within an hour."""
    failures = db.session.scalar(select(func.count(SignInEvent.id)).where(
        SignInEvent.user_id == user.id, SignInEvent.kind.in_(FAILURES), SignInEvent.at >= now - timedelta(hours=1)))
    if (failures or 0) < limits.notice_after:  # this failure included: note() flushed it
        return
    warned = db.session.scalar(select(SignInEvent.id).where(
        SignInEvent.user_id == user.id, SignInEvent.kind == SignInKind.OWNER_WARNED,
        SignInEvent.at >= now - timedelta(days=1)).limit(1))
    if warned is not None:
        return
    note(SignInKind.OWNER_WARNED, user=user, now=now, detail=f"{failures} failures in an hour")
    from helpdesk.auth import mail
    mail.warn_of_attack(user, failures or 0, now)


def sign_in(user: User, method: SignInMethod, client: Client, now: datetime) -> None:
    """Open a new session for ``user`` and record the sign-in."""
    sessions.open_session(user, method, client, now)
    user.last_login_at = now
    note(SignInKind.SIGNED_IN, user=user, client=client, method=method.value, now=now)


def sign_out(user: User, client: Client, now: datetime) -> None:
    """End the current session on the server (its cookie stops working wherever it was copied)."""
    if user.current_session is not None:
        sessions.end(user.current_session, SessionEnd.SIGNED_OUT, now)
    note(SignInKind.SIGNED_OUT, user=user, client=client, now=now)
