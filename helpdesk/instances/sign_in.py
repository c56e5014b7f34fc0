"""Signing a council's people in through their own platform: each Decidim is an OAuth2 provider (Doorkeeper:
``/oauth/authorize``, ``/oauth/token``, ``/oauth/me``). Authorization code with PKCE (S256) and ``state``, through
Authlib. The desk accepts only a person whose e-mail, as the platform gives it, is one of that council's
contacts; it links their Decidim identity to their desk account (made for the contact on first use)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx2  # what Authlib's httpx client speaks (see core/oauth2.py)
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from helpdesk.auth.models import DecidimIdentity, Role, SignInKind, User
from helpdesk.auth.record import Client, note
from helpdesk.auth.services import create_user
from helpdesk.core.errors import DomainError
from helpdesk.core.oauth2 import is_allowed_token_url
from helpdesk.core.sealing import SealBroken, unseal
from helpdesk.councils.models import Contact
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.instances.states import InstanceStatus

SCOPE = "public"  # Decidim's only OAuth scope: the person's id, e-mail, name and nickname


class SignInRefused(DomainError):
    """The platform or the person cannot be accepted; the message says why, nothing was created."""


@dataclass(frozen=True)
class Attempt:
    """What the desk keeps in the browser's session between sending the person away and their return."""

    instance_id: int
    state: str
    code_verifier: str
    next_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"instance": self.instance_id, "state": self.state, "verifier": self.code_verifier,
                "next": self.next_url}

    @classmethod
    def from_dict(cls, data: Any) -> Attempt | None:
        try:
            return cls(int(data["instance"]), str(data["state"]), str(data["verifier"]), str(data.get("next", "")))
        except (KeyError, TypeError, ValueError):
            return None


def offers_sign_in(instance: PlatformInstance) -> bool:
    return (bool(instance.oauth_client_id and instance.oauth_client_secret_sealed)
            and instance.status is InstanceStatus.ACTIVE and is_allowed_token_url(instance.base_url))


def instances_offering_sign_in() -> list[PlatformInstance]:
    """The active platforms with an OAuth application, by council name."""
    from helpdesk.councils.models import Council
    rows = db.session.scalars(select(PlatformInstance).join(Council)
                              .where(PlatformInstance.oauth_client_id.is_not(None),
                                     PlatformInstance.oauth_client_secret_sealed.is_not(None),
                                     PlatformInstance.status == InstanceStatus.ACTIVE)
                              .order_by(Council.name, PlatformInstance.id)).all()
    return [instance for instance in rows if offers_sign_in(instance)]


def _client(instance: PlatformInstance, secret_key: str, redirect_uri: str, timeout: float) -> OAuth2Client:
    try:
        secret = unseal(str(instance.oauth_client_secret_sealed), secret_key)
    except SealBroken:
        raise SignInRefused(_l("Signing in with this platform is not available right now (its OAuth application "
                               "must be typed again by an administrator).")) from None
    return OAuth2Client(str(instance.oauth_client_id), secret, redirect_uri=redirect_uri, scope=SCOPE,
                        code_challenge_method="S256", token_endpoint_auth_method="client_secret_post",
                        timeout=timeout, follow_redirects=False)


def begin(instance: PlatformInstance, secret_key: str, redirect_uri: str, next_url: str = "") -> tuple[str, Attempt]:
    """Where to send the person (the platform's authorisation page) and what to remember until they return."""
    if not offers_sign_in(instance):
        raise SignInRefused(_l("This council's platform does not offer signing in to the desk."))
    attempt = Attempt(instance.id, generate_token(32), generate_token(64), next_url)
    with _client(instance, secret_key, redirect_uri, 10) as client:
        url, _ = client.create_authorization_url(f"{instance.base_url.rstrip('/')}/oauth/authorize",
                                                 state=attempt.state, code_verifier=attempt.code_verifier)
    return url, attempt


@dataclass(frozen=True)
class DecidimPerson:
    subject: str
    email: str
    name: str
    nickname: str


def finish(attempt: Attempt | None, arguments: dict[str, str], secret_key: str, redirect_uri: str,
           timeout: float) -> tuple[PlatformInstance, DecidimPerson]:
    """Check the returning request against the attempt, trade the code for a token (with the PKCE verifier)
    and ask the platform who the person is."""
    if attempt is None or not arguments.get("state") or arguments.get("state") != attempt.state:
        raise SignInRefused(_l("This sign-in could not be checked (it was started in another browser or tab, or "
                               "it was already used). Start again."))
    instance = db.session.get(PlatformInstance, attempt.instance_id)
    if instance is None or not offers_sign_in(instance):
        raise SignInRefused(_l("This council's platform does not offer signing in to the desk."))
    if arguments.get("error"):
        raise SignInRefused(_l("The platform did not let you in (%(reason)s).",
                               reason=arguments.get("error_description") or arguments["error"]))
    base = instance.base_url.rstrip("/")
    try:
        with _client(instance, secret_key, redirect_uri, timeout) as client:
            client.fetch_token(f"{base}/oauth/token", grant_type="authorization_code", code=arguments.get("code", ""),
                               code_verifier=attempt.code_verifier)
            response = client.get(f"{base}/oauth/me")
    except OAuthError as error:
        raise SignInRefused(_l("The platform refused the sign-in (%(reason)s). Start again.",
                               reason=error.error or "error")) from None
    except (httpx2.HTTPError, ValueError):
        raise SignInRefused(_l("The council's platform does not answer right now: sign in with your e-mail and "
                               "password, or try again later.")) from None
    if response.status_code != 200:
        raise SignInRefused(_l("The council's platform does not answer right now: sign in with your e-mail and "
                               "password, or try again later."))
    try:
        data = response.json()
        person = DecidimPerson(str(data["id"]), str(data.get("email") or "").strip().lower(),
                               str(data.get("name") or "").strip(), str(data.get("nickname") or "").strip())
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SignInRefused(_l("The platform's answer about who you are could not be read.")) from None
    return instance, person


def accept(instance: PlatformInstance, person: DecidimPerson, now: datetime, default_language: str = "ca") -> User:
    """The desk account of ``person``: a contact of the instance's council, linked to this Decidim identity.
    Anyone else is refused, and nothing is created."""
    identity = db.session.scalar(select(DecidimIdentity).where(DecidimIdentity.instance_id == instance.id,
                                                               DecidimIdentity.subject == person.subject))
    contact = db.session.scalar(select(Contact).where(Contact.council_id == instance.council_id,
                                                      func.lower(Contact.email) == person.email)
                                .order_by(Contact.id).limit(1)) if person.email else None
    if contact is None:
        raise SignInRefused(_l("%(email)s is not a contact of %(council)s at the desk, so it cannot sign in with "
                               "this platform. Ask your council's referent, or the support team, to add you.",
                               email=person.email or "?", council=instance.council.name))
    user = db.session.scalar(select(User).where(func.lower(User.email) == person.email))
    if user is not None and (user.role is not Role.COUNCIL_USER or user.council_id != instance.council_id
                             or not user.is_active):
        raise SignInRefused(_l("The account %(email)s cannot sign in with this platform: sign in with your e-mail "
                               "and password.", email=person.email))
    if identity is not None and user is not None and identity.user_id != user.id:
        raise SignInRefused(_l("This Decidim account is linked to another desk account."))
    if user is None:
        user = create_user(None, email=person.email, name=contact.name or person.name or person.email,
                           role=Role.COUNCIL_USER, password=None, council_id=instance.council_id,
                           language=contact.language or default_language)
    if identity is None:
        identity = DecidimIdentity(user_id=user.id, instance_id=instance.id, subject=person.subject,
                                   nickname=person.nickname[:64], linked_at=now)
        db.session.add(identity)
    identity.last_used_at, identity.nickname = now, person.nickname[:64]
    db.session.flush()
    return user


def record_refusal(instance_id: int | None, client: Client, now: datetime, reason: str, email: str = "") -> None:
    """Put a refused sign-in through a platform on the record (after the caller rolled back what it began)."""
    note(SignInKind.DECIDIM_REFUSED, email=email, client=client, method="decidim", now=now,
         detail=f"instance {instance_id}: {reason}"[:255])
