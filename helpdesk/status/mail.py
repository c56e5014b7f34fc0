"""Mail a council's contacts get about their platform: planned maintenance (before, when it changes, when it
is called off), and an outage the monitor found (that the desk is on it, then that it is over). Each is
sent to each contact in their language, with a link to stop them that works without signing in; templates
in ``templates/emails/status/``."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from helpdesk.core import emails
from helpdesk.core.urls import base_url
from helpdesk.councils import recipients
from helpdesk.councils.models import Contact, Council
from helpdesk.extensions import db
from helpdesk.instances.maintenance import MaintenanceWindow

AUTOMATIC = {"Auto-Submitted": "auto-generated"}
_SALT = "helpdesk.status.unsubscribe"
_SAMPLE_START = datetime(2026, 12, 12, 6, 0, tzinfo=timezone.utc)  # a Saturday, 7 in the morning in Barcelona


def _sample() -> dict[str, Any]:
    return {"name": "Marta Puigdollers", "council": "Ajuntament de Vic", "hosts": ["vic.participa311.diba.cat"],
            "status_url": f"{base_url()}/councils/1/status", "unsubscribe_url": f"{base_url()}/notices/stop/sample"}


def _sample_window() -> dict[str, Any]:
    return {**_sample(), "starts_at": _SAMPLE_START, "ends_at": _SAMPLE_START + timedelta(hours=2),
            "reason": "Actualització de Decidim a la versió 0.28.6 (correccions de seguretat).", "changed": False}


def _sample_outage() -> dict[str, Any]:
    return {**_sample(), "host": "vic.participa311.diba.cat", "reference": "#1234", "since": _SAMPLE_START,
            "ended_at": _SAMPLE_START + timedelta(minutes=47), "minutes": 47}


MAINTENANCE = emails.register(
    "status/maintenance", trigger=_l("Planned maintenance of a council's platform comes within the notice time "
                                     "(HELPDESK_MAINTENANCE_NOTICE_HOURS), or is changed after they were told"),
    recipients=_l("The council's contacts who receive e-mail about the platform, each in their language"),
    sample=_sample_window)
MAINTENANCE_CANCELLED = emails.register(
    "status/maintenance_cancelled", trigger=_l("Planned maintenance the council was told of is called off (or its "
                                               "platform taken out of it)"),
    recipients=_l("The council's contacts who receive e-mail about the platform, each in their language"),
    sample=_sample_window)
OUTAGE_OPENED = emails.register(
    "status/outage_opened", trigger=_l("The monitor opens an outage ticket for a council's platform"),
    recipients=_l("The council's contacts who receive e-mail about the platform, each in their language"),
    sample=_sample_outage)
OUTAGE_RECOVERED = emails.register(
    "status/outage_recovered", trigger=_l("A council's platform answers again after an outage"),
    recipients=_l("The council's contacts who receive e-mail about the platform, each in their language"),
    sample=_sample_outage)


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _address_digest(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:16]


def stop_token(contact: Contact) -> str:
    """The token of ``contact``'s link to stop the notices: signed with the desk's secret, naming the contact
    and (by a digest) the address it was sent to, so it stops working if the address changes."""
    return str(_serializer().dumps([contact.id, _address_digest(contact.email or "")]))


def contact_of_token(token: str) -> Contact | None:
    """The contact a stop link was made for, or None when the link was altered or the address changed."""
    try:
        contact_id, digest = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if not isinstance(contact_id, int) or isinstance(contact_id, bool):
        return None
    contact = db.session.get(Contact, contact_id)
    if contact is None or not contact.email or _address_digest(contact.email) != digest:
        return None
    return contact


def stop_url(contact: Contact) -> str:
    return f"{base_url()}/notices/stop/{stop_token(contact)}"


def status_url(council: Council) -> str:
    return f"{base_url()}/councils/{council.id}/status"


def listeners(council_id: int) -> list[Contact]:
    """The council's contacts who receive e-mail about the platform, one per address."""
    seen: set[str] = set()
    found = []
    for contact in db.session.scalars(select(Contact).where(
            Contact.council_id == council_id, Contact.receives_platform_notices, Contact.email.is_not(None))
            .order_by(Contact.id)):
        address = (contact.email or "").lower()
        if address and address not in seen:
            seen.add(address)
            found.append(contact)
    return found


def _send(email: emails.Email, council: Council, context: dict[str, Any], related: Any) -> int:
    """One message per contact (each has their own stop link), in their language; how many were queued."""
    sent = 0
    for contact in listeners(council.id):
        language = recipients.language_of(contact.email, contact=contact)
        recipients.send(email, language, [str(contact.email)], {
            **context, "name": contact.name, "council": council.name, "status_url": status_url(council),
            "unsubscribe_url": stop_url(contact)},
            headers={**AUTOMATIC, "List-Unsubscribe": f"<{stop_url(contact)}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}, related=related)
        sent += 1
    return sent


def tell_maintenance(window: MaintenanceWindow, council: Council, hosts: list[str], *, changed: bool) -> int:
    """Tell the council's contacts of ``window`` over ``hosts`` (its instances in it), or of its change."""
    return _send(MAINTENANCE, council, {"hosts": hosts, "starts_at": window.starts_at, "ends_at": window.ends_at,
                                        "reason": window.reason, "changed": changed}, window)


def tell_maintenance_cancelled(window: MaintenanceWindow, council: Council) -> int:
    """Tell the council's contacts that ``window`` is off for them."""
    return _send(MAINTENANCE_CANCELLED, council, {"hosts": [], "starts_at": window.starts_at,
                                                  "ends_at": window.ends_at, "reason": window.reason,
                                                  "changed": False}, window)


def tell_outage(council: Council, host: str, reference: str, since: datetime, related: Any) -> int:
    """Tell the council's contacts that the desk knows their platform is down and is on it."""
    return _send(OUTAGE_OPENED, council, {"host": host, "reference": reference, "since": since, "ended_at": since,
                                          "minutes": 0}, related)


def tell_recovery(council: Council, host: str, reference: str, since: datetime, ended_at: datetime,
                  related: Any) -> int:
    """Tell the council's contacts that their platform answers again, and how long it was down."""
    minutes = max(1, round((ended_at - since).total_seconds() / 60))
    return _send(OUTAGE_RECOVERED, council, {"host": host, "reference": reference, "since": since,
                                             "ended_at": ended_at, "minutes": minutes}, related)
