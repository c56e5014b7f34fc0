"""Platform instances: registering them, changing their facts and moving them through their life."""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.auth.models import User
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, InvalidTransition, NotAllowed
from helpdesk.core.validation import normalise_domain
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.instances.models import INSTANCE_EDITORS, KNOWN_MODULES, VERSION_PATTERN, PlatformInstance
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
    parts = urlsplit(text)
    if parts.scheme.lower() != "https":
        raise DomainError(_l("The address must use HTTPS."), "base_url")
    if parts.username or parts.password or parts.query or parts.fragment or parts.path not in ("", "/"):
        raise DomainError(_l("Give only the platform's address, such as https://participa.example.cat, "
                             "without a path."), "base_url")
    try:
        host = normalise_domain(parts.hostname or "", "base_url")
    except DomainError:
        raise DomainError(_l("“%(value)s” is not a valid web address.", value=raw.strip()), "base_url") from None
    port = f":{parts.port}" if parts.port and parts.port != 443 else ""
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
