"""Single-use links: invitations (a first password, set by the person invited) and password resets."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select, update

from helpdesk.auth import mail, sessions
from helpdesk.auth.models import (AccountToken, Role, SessionEnd, SignInKind, TokenPurpose, User, digest,
                                  new_token)
from helpdesk.auth.record import Client, note
from helpdesk.auth.services import create_user, require_admin, set_password
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.extensions import db


class LinkNotUsable(DomainError):
    """The link is unknown, used, withdrawn or out of date."""


def _issue(user: User, purpose: TokenPurpose, lifetime: timedelta, now: datetime,
           actor: User | None = None) -> str:
    """A new link for ``user``; earlier unused links of the same purpose stop working."""
    db.session.execute(update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None),
        AccountToken.withdrawn_at.is_(None)).values(withdrawn_at=now), execution_options={"synchronize_session": False})
    token = new_token()
    db.session.add(AccountToken(user_id=user.id, purpose=purpose, token_digest=digest(token), created_at=now,
                                expires_at=now + lifetime, created_by_id=actor.id if actor is not None else None))
    db.session.flush()
    return token


def invite(actor: User | None, *, email: str, name: str, role: Role, council_id: int | None = None,
           language: str = "ca", lifetime: timedelta, now: datetime) -> User:
    """Create an account without a password and mail its person a link to choose one."""
    user = create_user(actor, email=email, name=name, role=role, password=None, council_id=council_id,
                       language=language)
    _send_invitation(actor, user, lifetime, now)
    return user


def resend_invitation(actor: User | None, user: User, lifetime: timedelta, now: datetime) -> None:
    """A new invitation link (the earlier one stops working), for a person who has not yet chosen a password."""
    require_admin(actor)
    if user.has_password:
        raise DomainError(_l("%(email)s has already accepted the invitation.", email=user.email))
    if not user.is_active:
        user.is_active = True
        audit.record(actor, "updated", user, {"is_active": {"before": False, "after": True}})
    _send_invitation(actor, user, lifetime, now)


def _send_invitation(actor: User | None, user: User, lifetime: timedelta, now: datetime) -> None:
    token = _issue(user, TokenPurpose.INVITATION, lifetime, now, actor)
    note(SignInKind.INVITATION_SENT, user=user, actor=actor, now=now)
    audit.record(actor, "invited", user)
    mail.invite(user, actor, token, now + lifetime)


def withdraw_invitation(actor: User | None, user: User, now: datetime) -> None:
    """The link stops working and the account, which never had a password, is deactivated."""
    require_admin(actor)
    if user.has_password:
        raise DomainError(_l("%(email)s has already accepted the invitation.", email=user.email))
    db.session.execute(update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == TokenPurpose.INVITATION,
        AccountToken.used_at.is_(None), AccountToken.withdrawn_at.is_(None)).values(withdrawn_at=now),
        execution_options={"synchronize_session": False})
    user.is_active = False
    note(SignInKind.INVITATION_WITHDRAWN, user=user, actor=actor, now=now)
    audit.record(actor, "invitation_withdrawn", user)


def pending_invitations() -> Select[tuple[AccountToken]]:
    """The invitations not yet accepted nor withdrawn (those out of date too: they can be re-sent)."""
    return (select(AccountToken).join(AccountToken.user)
            .where(AccountToken.purpose == TokenPurpose.INVITATION, AccountToken.used_at.is_(None),
                   AccountToken.withdrawn_at.is_(None), User.password_hash == "")
            .order_by(AccountToken.created_at.desc(), AccountToken.id.desc()))


def request_reset(email: str, client: Client, lifetime: timedelta, now: datetime) -> None:
    """Mail a reset link when an active account has this address; the caller answers the same either way."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    note(SignInKind.RESET_REQUESTED, user=user, email=email.strip(), client=client, now=now)
    if user is None or not user.is_active or not user.has_password:
        return  # an invited person who has not accepted uses the invitation (an administrator can re-send it)
    mail.send_reset_link(user, _issue(user, TokenPurpose.PASSWORD_RESET, lifetime, now), lifetime)


def usable(token: str, purpose: TokenPurpose, now: datetime) -> AccountToken:
    """The link's row, if it still works."""
    row = db.session.scalar(select(AccountToken).where(AccountToken.token_digest == digest(token),
                                                       AccountToken.purpose == purpose))
    if row is None or not row.is_usable(now) or not row.user.is_active:
        raise LinkNotUsable(_l("This link no longer works: it has been used, replaced or withdrawn, or it is out "
                               "of date. Ask for a new one."))
    return row


def redeem(token: str, purpose: TokenPurpose, password: str, client: Client, now: datetime) -> User:
    """Set the password the link's person chose; the link is spent and every session of the account ends."""
    row = usable(token, purpose, now)
    user = row.user
    kind = SignInKind.INVITATION_ACCEPTED if purpose is TokenPurpose.INVITATION else SignInKind.PASSWORD_RESET
    set_password(None, user, password, client=client, kind=kind)
    sessions.end_all(user, SessionEnd.PASSWORD_CHANGED, now)
    row.used_at = now
    return user
