"""Personal access tokens: created, named, scoped and revoked by their owner; the API finds a request's
token by the SHA-256 of its secret, like helpdesk/auth/sessions.py finds a session."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.api.models import TOKEN_NAME_MAX_LENGTH, TOKEN_PREFIX, ApiToken, TokenScope
from helpdesk.auth.models import User, digest, new_token
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.extensions import db

#: Last use is written at most this often, so that reading does not write on every request.
TOUCH_EVERY = timedelta(seconds=60)
#: A user keeps at most this many tokens that still work: enough for every system they connect.
MAX_TOKENS = 20


def create_token(owner: User, name: str, scope: TokenScope, now: datetime,
                 expires_at: datetime | None = None) -> ApiToken:
    """A new token of ``owner``; its secret is in ``token.secret`` for this request only (shown once)."""
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_l("Give the token a name (what it is for)."), "name")
    if len(name) > TOKEN_NAME_MAX_LENGTH:
        raise DomainError(_l("The name must have at most %(count)d characters.", count=TOKEN_NAME_MAX_LENGTH),
                          "name")
    if expires_at is not None and expires_at <= now:
        raise DomainError(_l("The expiry must be in the future."), "expires_on")
    if len(tokens_of(owner, now)) >= MAX_TOKENS:
        raise DomainError(_l("You already have %(count)d tokens: revoke one you no longer use first.",
                             count=MAX_TOKENS), "name")
    secret = TOKEN_PREFIX + new_token()
    token = ApiToken(user=owner, name=name, scope=scope, token_digest=digest(secret), hint=secret[:10],
                     created_at=now, expires_at=expires_at, last_used_address="")
    db.session.add(token)
    db.session.flush()
    token.secret = secret
    audit.record(owner, "api_token_created", token, audit.diff({}, audit.snapshot(token, ApiToken.AUDITED)))
    return token


def revoke_token(actor: User, token: ApiToken, now: datetime) -> None:
    """Stop a token working at once (its owner, or an administrator)."""
    if token.user_id != actor.id and not actor.is_admin:
        raise NotAllowed(_l("Only the token's owner revokes it."))
    if token.revoked_at is not None:
        return
    token.revoked_at = now
    audit.record(actor, "api_token_revoked", token, {"revoked_at": {"before": None, "after": audit.plain(now)}})


def tokens_of(owner: User, now: datetime) -> list[ApiToken]:
    """The owner's tokens that still work, the newest first."""
    rows = db.session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id, ApiToken.revoked_at.is_(None))
                              .order_by(ApiToken.id.desc())).all()
    return [row for row in rows if row.is_usable(now)]


def authenticate(secret: str, now: datetime, address: str) -> ApiToken | None:
    """The working token with this secret, of an active user, its last use noted (at most once a minute)."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_digest == digest(secret)))
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        token.last_used_at, token.last_used_address = now, address[:64]
    return token
