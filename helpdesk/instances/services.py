"""Platform instances: registering them, changing their facts and moving them through their life."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed, Problems
from helpdesk.core.sealing import SealBroken, seal
from helpdesk.core.validation import normalise_domain
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.instances.decidim import ACCESS_BY_CODE, ApiCredentials, DecidimClient, DecidimError
from helpdesk.instances.models import (CREDENTIAL_MAX_LENGTH, INSTANCE_EDITORS, KNOWN_MODULES, SECRET_MAX_LENGTH,
                                       VERSION_PATTERN, DecidimRelease, PlatformInstance)
from helpdesk.instances.states import ALLOWED_TRANSITIONS, InstanceStatus, can_change


@dataclass(frozen=True)
class InstanceData:
    base_url: str
    decidim_version: str = ""
    enabled_modules: tuple[str, ...] = ()
    notes: str = ""


@dataclass(frozen=True)
class CredentialsData:
    """What the edit form says of an instance's API credentials and OAuth application. An empty secret keeps
    the stored one; ``remove_*`` clears the pair (and, for the API, the token it obtained)."""

    api_key: str = ""
    api_secret: str = ""
    remove_api: bool = False
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    remove_oauth: bool = False


def normalise_base_url(raw: str) -> str:
    """``https://host`` for a Decidim organisation: HTTPS, no path, host lower-cased."""
    text = raw.strip()
    if not text:
        raise DomainError(_l("The address is required."), "base_url")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:  # a port that is no number, an unclosed bracket
        raise DomainError(_l("“%(value)s” is not a valid web address.", value=raw.strip()), "base_url") from None
    if parts.scheme.lower() != "https":
        raise DomainError(_l("The address must use HTTPS."), "base_url")
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise DomainError(_l("Give only the platform's address, such as https://participa.example.cat, "
                             "without a path."), "base_url")
    try:
        host = normalise_domain(parts.hostname or "", "base_url")
    except DomainError:
        raise DomainError(_l("“%(value)s” is not a valid web address.", value=raw.strip()), "base_url") from None
    port = f":{port}" if port and port != 443 else ""
    return f"https://{host}{port}"


def require_instance_editor(actor: User | None) -> None:
    if actor is not None and actor.role not in INSTANCE_EDITORS:
        raise NotAllowed(_l("Only administrators and technicians can change platform instances."))


def _clean(data: InstanceData, instance: PlatformInstance | None) -> InstanceData:
    base_url = normalise_base_url(data.base_url)
    other = db.session.scalar(select(PlatformInstance).where(PlatformInstance.base_url == base_url))
    if other is not None and other is not instance:
        raise DomainError(_l("%(url)s is already the address of %(council)s's instance.", url=base_url,
                             council=other.council.name), "base_url")
    version = data.decidim_version.strip().removeprefix("v")
    if version and not re.match(VERSION_PATTERN, version):
        raise DomainError(_l("“%(value)s” is not a Decidim version such as 0.28.5.", value=version),
                          "decidim_version")
    unknown = [name for name in data.enabled_modules if name not in KNOWN_MODULES]
    if unknown:
        raise DomainError(_l("Unknown module(s): %(names)s.", names=", ".join(unknown)), "enabled_modules")
    modules = tuple(name for name in KNOWN_MODULES if name in data.enabled_modules)
    return InstanceData(base_url, version, modules, data.notes.strip())


def create_instance(actor: User | None, council: Council, data: InstanceData,
                    status: InstanceStatus = InstanceStatus.PROVISIONING) -> PlatformInstance:
    """Register a council's instance; it starts as provisioning unless told otherwise."""
    require_instance_editor(actor)
    data = _clean(data, None)
    instance = PlatformInstance(council=council, base_url=data.base_url, decidim_version=data.decidim_version,
                                enabled_modules=list(data.enabled_modules), notes=data.notes, status=status)
    db.session.add(instance)
    db.session.flush()
    audit.record(actor, "created", instance, audit.diff({}, audit.snapshot(instance, PlatformInstance.AUDITED)))
    return instance


def update_instance(actor: User | None, instance: PlatformInstance, data: InstanceData) -> bool:
    """Change an instance's address, version, modules or notes; True when something changed."""
    require_instance_editor(actor)
    data = _clean(data, instance)
    before = audit.snapshot(instance, PlatformInstance.AUDITED)
    instance.base_url, instance.decidim_version = data.base_url, data.decidim_version
    instance.enabled_modules, instance.notes = list(data.enabled_modules), data.notes
    changes = audit.diff(before, audit.snapshot(instance, PlatformInstance.AUDITED))
    if changes:
        audit.record(actor, "updated", instance, changes)
    return bool(changes)


def change_instance_status(actor: User | None, instance: PlatformInstance, status: InstanceStatus) -> None:
    """Move an instance to ``status`` if the state table allows it."""
    require_instance_editor(actor)
    if not can_change(instance.status, status):
        allowed = ", ".join(str(item.label) for item in ALLOWED_TRANSITIONS[instance.status]) or "—"
        raise InvalidTransition(_l("An instance that is %(current)s cannot become %(new)s (possible: %(allowed)s).",
                                   current=instance.status.label.lower(), new=status.label.lower(),
                                   allowed=allowed), "status")
    before = instance.status
    instance.status = status
    audit.record(actor, "status_changed", instance, {"status": {"before": before.value, "after": status.value}})


def change_credentials(actor: User | None, instance: PlatformInstance, data: CredentialsData) -> bool:
    """Set, keep or remove an instance's API credentials and OAuth application; the audit says which changed,
    never their values. True when something changed."""
    require_instance_editor(actor)
    Problems.raise_if_any(_credential_problems(instance, data))
    secret_key = current_app.config["SECRET_KEY"]
    changes: dict[str, dict[str, Any]] = {}
    api_key, oauth_client_id = data.api_key.strip(), data.oauth_client_id.strip()
    if data.remove_api:
        if instance.api_key or instance.api_secret_sealed:
            changes["api_credentials"] = {"before": "••••", "after": None}
        instance.api_key = instance.api_secret_sealed = None
        _forget_api_token(instance)
    elif api_key != (instance.api_key or "") or data.api_secret:
        if api_key != (instance.api_key or ""):
            changes["api_key"] = {"before": "••••" if instance.api_key else None, "after": "••••"}
        if data.api_secret:
            changes["api_secret"] = {"before": "••••" if instance.api_secret_sealed else None, "after": "••••"}
            instance.api_secret_sealed = seal(data.api_secret, secret_key)
        instance.api_key = api_key
        _forget_api_token(instance)  # it belongs to the API user before the change
    if data.remove_oauth:
        if instance.oauth_client_id or instance.oauth_client_secret_sealed:
            changes["oauth_application"] = {"before": "••••", "after": None}
        instance.oauth_client_id = instance.oauth_client_secret_sealed = None
    else:
        if oauth_client_id != (instance.oauth_client_id or ""):
            changes["oauth_client_id"] = {"before": "••••" if instance.oauth_client_id else None, "after": "••••"}
            instance.oauth_client_id = oauth_client_id
        if data.oauth_client_secret:
            changes["oauth_client_secret"] = {"before": "••••" if instance.oauth_client_secret_sealed else None,
                                              "after": "••••"}
            instance.oauth_client_secret_sealed = seal(data.oauth_client_secret, secret_key)
    if changes:
        audit.record(actor, "credentials_changed", instance, changes)
    return bool(changes)


def _forget_api_token(instance: PlatformInstance) -> None:
    instance.api_token_sealed, instance.api_token_expires_at, instance.api_access = None, None, ""


def _credential_problems(instance: PlatformInstance, data: CredentialsData) -> list[DomainError]:
    """Each pair goes together: a key needs a secret (typed now or kept) and a secret needs a key."""
    problems = []
    if not data.remove_api:
        key, has_secret = data.api_key.strip(), bool(data.api_secret or instance.api_secret_sealed)
        if len(key) > CREDENTIAL_MAX_LENGTH or len(data.api_secret) > SECRET_MAX_LENGTH:
            problems.append(DomainError(_l("The API key or secret is too long."), "api_key"))
        elif key and not has_secret:
            problems.append(DomainError(_l("Type the API secret that goes with the key."), "api_secret"))
        elif has_secret and not key:
            problems.append(DomainError(_l("Type the API key that goes with the secret, or tick “Remove the API "
                                           "credentials”."), "api_key"))
    if not data.remove_oauth:
        client_id = data.oauth_client_id.strip()
        has_secret = bool(data.oauth_client_secret or instance.oauth_client_secret_sealed)
        if len(client_id) > CREDENTIAL_MAX_LENGTH or len(data.oauth_client_secret) > SECRET_MAX_LENGTH:
            problems.append(DomainError(_l("The OAuth client id or secret is too long."), "oauth_client_id"))
        elif client_id and not has_secret:
            problems.append(DomainError(_l("Type the OAuth client secret that goes with the client id."),
                                        "oauth_client_secret"))
        elif has_secret and not client_id:
            problems.append(DomainError(_l("Type the OAuth client id that goes with the secret, or tick “Remove "
                                           "the OAuth application”."), "oauth_client_id"))
    return problems


ClientFactory = Callable[[str, "ApiCredentials | None"], DecidimClient]


def api_access_after(error: DecidimError | None, credentials: ApiCredentials | None) -> str:
    """What a look at the API says about getting in (a key of models.API_ACCESS_LABELS, "" for not known)."""
    if error is None:
        return "signed_in" if credentials is not None else "open"
    return ACCESS_BY_CODE.get(error.code, "")


def refresh_facts(instance: PlatformInstance, now: datetime, client_factory: ClientFactory | None = None) -> bool:
    """Ask the platform what it runs; keep what it says (and the modules it uses), or why it could not
    be asked (the previous facts stay). True when the refresh worked."""
    secret_key = current_app.config["SECRET_KEY"]
    factory = client_factory or (lambda url, credentials: DecidimClient(
        url, timeout=current_app.config["DECIDIM_TIMEOUT_SECONDS"], credentials=credentials))
    instance.facts_checked_at = now
    try:
        credentials = instance.api_credentials(secret_key)
    except SealBroken:
        instance.api_access = "unreadable"
        instance.facts_error = "credentials_unreadable: the API secret was sealed under another SECRET_KEY"
        return False
    try:
        with factory(instance.base_url, credentials) as client:
            facts = client.facts()
    except DecidimError as error:
        instance.keep_api_token(credentials, secret_key)  # a token obtained before a later query failed
        instance.api_access = api_access_after(error, credentials) or instance.api_access
        instance.facts_error = f"{error.code}: {error.detail}"[:2000]
        return False
    instance.keep_api_token(credentials, secret_key)
    instance.api_access = api_access_after(None, credentials)
    before = audit.snapshot(instance, PlatformInstance.AUDITED)
    if facts.version:
        instance.decidim_version = facts.version.removeprefix("v")[:32]
    instance.enabled_modules = [name for name in KNOWN_MODULES if name in facts.modules]
    instance.application_name = facts.application_name[:200]
    instance.organisation_name = facts.organisation_name[:200]
    instance.spaces = facts.spaces
    instance.facts_error = "; ".join(facts.warnings)[:2000]
    changes = audit.diff(before, audit.snapshot(instance, PlatformInstance.AUDITED))
    if changes:
        audit.record(None, "refreshed", instance, changes)
    return True


def save_release(actor: User | None, version: str, released_on, supported: bool, notes: str = ""):
    """Add a Decidim release or change one (by version); marking a release supported or not marks its line."""
    if actor is not None and actor.role is not Role.ADMIN:
        raise NotAllowed(_l("Only administrators keep the list of Decidim releases."))
    version = version.strip().removeprefix("v")
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise DomainError(_l("“%(value)s” is not a Decidim version such as 0.28.5.", value=version), "version")
    release = db.session.scalar(select(DecidimRelease).where(DecidimRelease.version == version))
    before = audit.snapshot(release, DecidimRelease.AUDITED) if release else {}
    if release is None:
        release = DecidimRelease(version=version)
        db.session.add(release)
    release.released_on, release.supported, release.notes = released_on, supported, notes
    line = version.rsplit(".", 1)[0] + "."
    for other in db.session.scalars(select(DecidimRelease).where(DecidimRelease.version.startswith(line))):
        other.supported = supported  # upstream supports whole minor lines
    db.session.flush()
    audit.record(actor, "updated" if before else "created", release,
                 audit.diff(before, audit.snapshot(release, DecidimRelease.AUDITED)))
    return release
