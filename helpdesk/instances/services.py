"""Platform instances: registering them, changing their facts and moving them through their life."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed
from helpdesk.core.validation import normalise_domain
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.instances.decidim import DecidimClient, DecidimError
from helpdesk.instances.models import INSTANCE_EDITORS, KNOWN_MODULES, VERSION_PATTERN, DecidimRelease, PlatformInstance
from helpdesk.instances.states import ALLOWED_TRANSITIONS, InstanceStatus, can_change


@dataclass(frozen=True)
class InstanceData:
    base_url: str
    decidim_version: str = ""
    enabled_modules: tuple[str, ...] = ()
    notes: str = ""


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


def refresh_facts(instance: PlatformInstance, now, client_factory=None) -> bool:
    """Ask the platform what it runs; keep what it says (and the modules it uses), or why it could not
    be asked (the previous facts stay). True when the refresh worked."""
    factory = client_factory or (lambda url: DecidimClient(url, timeout=current_app.config["DECIDIM_TIMEOUT_SECONDS"]))
    instance.facts_checked_at = now
    try:
        with factory(instance.base_url) as client:
            facts = client.facts()
    except DecidimError as error:
        instance.facts_error = f"{error.code}: {error.detail}"[:2000]
        return False
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
