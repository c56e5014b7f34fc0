"""OAuth2 sign-in for mail servers (IMAP and SMTP, as Microsoft 365 and Google Workspace require): access
tokens from the provider's token endpoint by the client-credentials or the refresh-token grant (Authlib),
and the SASL strings that carry them (XOAUTH2, OAUTHBEARER).

Access tokens are kept in memory, per process (the web app and the scheduler each hold their own), and
asked for again a minute before they expire. A refresh token that the provider rotates is saved at once,
sealed, in ``oauth2_refresh_tokens``, in a transaction of its own: the provider may already have retired
the old one, so the new one must survive a rollback of whatever the caller was doing. Rows are keyed by
an HMAC of the configured grant, so a refresh token typed anew (a new key) starts afresh and every
process, web or scheduler, refreshes with the latest rotation."""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx2
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import String, Text, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from helpdesk.core.models import UTCDateTime, utcnow
from helpdesk.core.sealing import SealBroken, seal, unseal
from helpdesk.extensions import Model, db

GRANTS = ("client_credentials", "refresh_token")
RENEW_BEFORE_SECONDS = 60
UNKNOWN_LIFETIME_SECONDS = 300  # a provider that does not say (expires_in is only RECOMMENDED by RFC 6749)
REQUEST_TIMEOUT_SECONDS = 20


class OAuth2Error(Exception):
    """No access token could be had; the message says what to do about it."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code  # the provider's error code (invalid_client…), or "unreachable", "bad_answer"


@dataclass(frozen=True)
class OAuth2Grant:
    """How to get access tokens: the provider's token URL and this desk's registration there."""

    token_url: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    scope: str = ""
    refresh_token: str = field(default="", repr=False)  # empty: the client-credentials grant

    @property
    def grant_type(self) -> str:
        return "refresh_token" if self.refresh_token else "client_credentials"


@dataclass(frozen=True)
class AccessToken:
    value: str = field(repr=False)
    from_cache: bool  # not asked for just now: a server that refuses it may take a fresh one


class RefreshToken(Model):
    """The latest refresh token a provider gave for a configured grant (when it rotates them)."""

    __tablename__ = "oauth2_refresh_tokens"

    grant_key: Mapped[str] = mapped_column(String(64), primary_key=True)  # see _grant_key
    token_sealed: Mapped[str] = mapped_column(Text)
    rotated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def is_allowed_token_url(url: str) -> bool:
    """HTTPS, or plain HTTP only to this machine (a local proxy, tests): the client secret travels in it."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if not host or any(character.isspace() for character in url):
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_url_problem(url: str) -> str:
    """Why ``url`` cannot be a token endpoint, in words for an administrator (empty when it can)."""
    if is_allowed_token_url(url):
        return ""
    if url.startswith("http://"):
        return _("The token URL must start with https:// (the client secret travels in it).")
    return _("“%(value)s” is not a web address.", value=url)


@dataclass
class _Held:
    value: str
    renew_at: float  # on the monotonic clock: a change of the wall clock must not keep a dead token


_tokens: dict[OAuth2Grant, _Held] = {}
_locks: dict[OAuth2Grant, threading.Lock] = {}
_locks_lock = threading.Lock()


def access_token(grant: OAuth2Grant, *, renew: bool = False) -> AccessToken:
    """A valid access token for ``grant``: the one held, unless it expires within a minute (or ``renew``:
    the server refused it), else a new one from the provider. Raises OAuth2Error."""
    with _locks_lock:
        lock = _locks.setdefault(grant, threading.Lock())
    with lock:  # one request per grant at a time: threads waiting for it take the token it brings
        held = _tokens.get(grant)
        if held is not None and not renew and time.monotonic() < held.renew_at:
            return AccessToken(held.value, from_cache=True)
        asked_at = time.monotonic()
        token = _refresh(grant) if grant.refresh_token else _request(grant)
        value = token.get("access_token")
        if not isinstance(value, str) or not value:
            raise OAuth2Error(_("The provider's answer has no access token: check the token URL."), "bad_answer")
        _tokens[grant] = _Held(value, asked_at + renew_after(token.get("expires_in")))
        return AccessToken(value, from_cache=False)


def renew_after(expires_in: Any) -> float:
    """Seconds after which a token that lives ``expires_in`` seconds is asked for again: a minute before
    it expires, or halfway through for one that lives less than two minutes."""
    try:
        lifetime = float(expires_in) if expires_in else UNKNOWN_LIFETIME_SECONDS
    except (TypeError, ValueError):
        lifetime = UNKNOWN_LIFETIME_SECONDS
    if not lifetime > 0:  # also NaN
        lifetime = UNKNOWN_LIFETIME_SECONDS
    return max(lifetime - RENEW_BEFORE_SECONDS, lifetime / 2)


def forget_tokens() -> None:
    """Drop every access token held by this process (as a process that starts holds none)."""
    _tokens.clear()


def _request(grant: OAuth2Grant, refresh_token: str = "") -> dict[str, Any]:
    """Ask the token endpoint; every way it can fail becomes an OAuth2Error an administrator can act on."""
    problem = token_url_problem(grant.token_url)
    if problem:
        raise OAuth2Error(problem, "bad_url")
    # The secret in the form (client_secret_post): Microsoft's and Google's endpoints both take it so.
    method = "client_secret_post" if grant.client_secret else "none"
    try:
        with OAuth2Client(grant.client_id, grant.client_secret or None, scope=grant.scope or None,
                          token_endpoint_auth_method=method, timeout=REQUEST_TIMEOUT_SECONDS) as client:
            if refresh_token:
                return dict(client.refresh_token(grant.token_url, refresh_token=refresh_token))
            return dict(client.fetch_token(grant.token_url, grant_type="client_credentials"))
    except OAuthError as error:
        raise OAuth2Error(_refusal(error.error or "", error.description or "", grant), error.error or "") from error
    except httpx2.HTTPStatusError as error:
        raise OAuth2Error(_("The token URL answered HTTP %(status)s instead of a token: check the token URL, or "
                            "try again later if the provider is having trouble.",
                            status=error.response.status_code), "bad_answer") from error
    except httpx2.HTTPError as error:
        raise OAuth2Error(_("The sign-in provider could not be reached at %(url)s (%(error)s): try again later, "
                            "or check the token URL.", url=grant.token_url, error=str(error) or
                            error.__class__.__name__), "unreachable") from error
    except ValueError as error:  # a page that is not JSON (a proxy's, a login page…)
        raise OAuth2Error(_("The token URL did not answer as a token endpoint: check the token URL."),
                          "bad_answer") from error


def _refusal(code: str, description: str, grant: OAuth2Grant) -> str:
    detail = f"{code}: {description}" if description else code
    if code == "invalid_client":
        return _("The provider refused the client (%(detail)s): check the client id and the client secret, and "
                 "that the secret has not expired.", detail=detail)
    if code == "invalid_grant" and grant.refresh_token:
        return _("The provider refused the refresh token (%(detail)s): it has expired or was revoked. Sign in "
                 "as the mailbox again to get a new one and type it here.", detail=detail)
    if code == "invalid_scope":
        return _("The provider refused the scope “%(scope)s” (%(detail)s): check the scope.",
                 scope=grant.scope, detail=detail)
    if code == "unauthorized_client":
        return _("The provider does not allow this client that grant (%(detail)s): check the application's "
                 "registration and its permissions (admin consent).", detail=detail)
    return _("The provider refused the token request (%(detail)s).", detail=detail)


def _grant_key(grant: OAuth2Grant) -> str:
    # An HMAC, not the token itself: the key says nothing about the refresh token to a reader of the database.
    material = "\0".join((grant.token_url, grant.client_id, grant.refresh_token)).encode("utf-8")
    return hmac.new(current_app.config["SECRET_KEY"].encode("utf-8"), material, hashlib.sha256).hexdigest()


def _refresh(grant: OAuth2Grant) -> dict[str, Any]:
    """The refresh-token grant with the latest refresh token of this grant; a rotated one is saved at once."""
    key, secret_key = _grant_key(grant), current_app.config["SECRET_KEY"]
    table = RefreshToken.__table__
    # Its own connection and transaction (see the module's docstring); on PostgreSQL the row stays locked
    # while the provider answers, so two processes do not spend the same one-time refresh token.
    with db.engine.begin() as connection:
        sealed = connection.execute(select(table.c.token_sealed).where(table.c.grant_key == key)
                                    .with_for_update()).scalar()
        current = grant.refresh_token
        if sealed:
            try:
                current = unseal(sealed, secret_key)
            except SealBroken:
                pass  # sealed under another SECRET_KEY: the configured one may still work
        token = _request(grant, current)
        rotated = token.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != current:
            values = {"token_sealed": seal(rotated, secret_key), "rotated_at": utcnow()}
            # An upsert: with no row to lock, another process may have saved its own rotation meanwhile.
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            connection.execute(dialect.insert(table).values(grant_key=key, **values)
                               .on_conflict_do_update(index_elements=[table.c.grant_key], set_=values))
    return token


def discard_refresh_token(grant: OAuth2Grant) -> None:
    """Forget the rotated refresh token of a grant that is being replaced (in the caller's transaction)."""
    if grant.refresh_token:
        db.session.execute(delete(RefreshToken).where(RefreshToken.grant_key == _grant_key(grant)))


def xoauth2(user: str, token: str) -> bytes:
    """The XOAUTH2 initial response (Google's and Microsoft's SASL mechanism)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01".encode("utf-8")


def oauthbearer(user: str, token: str, host: str, port: int) -> bytes:
    """The OAUTHBEARER initial response (RFC 7628), with the authorization identity escaped as RFC 5801 asks."""
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={authzid},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01".encode("utf-8")
