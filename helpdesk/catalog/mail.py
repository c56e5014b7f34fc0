"""Mail the Service Catalogue sends: the technicians' provisioning order, the referent's news of their request
and of their ready platform, and the renewal reminders; templates in ``templates/emails/catalog/``, each
rendered in its recipient's language."""
from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from helpdesk.catalog.models import LANGUAGES, CatalogRequest, Grant
from helpdesk.catalog.states import LABELS, RequestKind, RequestStatus
from helpdesk.core import emails
from helpdesk.core.urls import base_url
from helpdesk.councils import recipients
from helpdesk.councils.models import Contact
from helpdesk.instances.models import PlatformInstance
from helpdesk.tickets.models import Ticket

AUTOMATIC = {"Auto-Submitted": "auto-generated"}


def _base() -> str:
    return base_url()


def _sample_request() -> dict[str, Any]:
    return {"reference": "CAT-2027-0012", "council": "Ajuntament de Vic", "instance_url": "https://participa-vic.diba.cat"}


PROVISIONING = emails.register(
    "catalog/provisioning", trigger=_l("A catalogue manager grants a request for a new platform (it opens the "
                                       "provisioning ticket)"),
    recipients=_l("Every active technician"),
    sample=lambda: {**_sample_request(), "ticket_reference": "#1234", "host": "participa-vic.diba.cat",
                    "languages": "Català, Castellano", "ticket_url": f"{_base()}/tickets/1234"})
PLATFORM_READY = emails.register(
    "catalog/platform_ready", trigger=_l("The provisioning ticket of a granted platform is resolved"),
    recipients=_l("The technical referent named in the request"),
    sample=lambda: {**_sample_request(), "ends_on": date(2028, 12, 31)})
REQUEST_STATUS = emails.register(
    "catalog/request_status", trigger=_l("A catalogue request changes state (submitted, under review, needs "
                                         "information, granted, refused, withdrawn)"),
    recipients=_l("The technical referent named in the request"),
    sample=lambda: {**_sample_request(), "kind": LABELS[RequestKind][RequestKind.NEW],
                    "status": LABELS[RequestStatus][RequestStatus.NEEDS_INFORMATION],
                    "manager_message": "Indiqueu, si us plau, la data d'inici del procés participatiu.",
                    "request_url": f"{_base()}/catalog/requests/12"})
RENEWAL_REMINDER = emails.register(
    "catalog/renewal_reminder", trigger=_l("A grant ends within one of the reminder periods "
                                           "(CATALOG_REMINDER_DAYS) and no renewal has been filed"),
    recipients=_l("The technical referent and the catalogue managers"),
    sample=lambda: {**_sample_request(), "ends_on": date(2027, 3, 31), "days_left": 30,
                    "catalog_url": f"{_base()}/catalog/", "grace_days": current_app.config["CATALOG_GRACE_DAYS"]})


def _to_contact(email: emails.Email, contact: Contact, context: dict[str, Any], **options: Any) -> None:
    address = contact.email or ""  # the callers send only to contacts with an address
    recipients.send(email, recipients.language_of(address, contact=contact), [address], context, **options)


def order_provisioning(ticket: Ticket, request: CatalogRequest, instance: PlatformInstance, technicians: list[str]) -> None:
    """Ask the technicians (their addresses) to set up a granted platform (``ticket``: the provisioning ticket)."""
    recipients.send_to_each(PROVISIONING, technicians, {
        "ticket_reference": ticket.reference, "reference": request.reference, "host": instance.host,
        "council": request.council.name, "instance_url": instance.base_url,
        "languages": ", ".join(LANGUAGES[code] for code in request.languages),
        "ticket_url": f"{_base()}/tickets/{ticket.id}"}, headers=AUTOMATIC, related=ticket)


def tell_platform_ready(record: Grant, referent: Contact) -> None:
    """Tell the referent that their council's platform is up, at which address, until when."""
    _to_contact(PLATFORM_READY, referent, {"council": record.council.name, "instance_url": record.instance.base_url,
                                           "ends_on": record.ends_on}, related=record)


def tell_request_status(request: CatalogRequest, referent: Contact) -> None:
    """Tell the referent the request's new state, with the manager's message where it explains it."""
    explained = request.status in (RequestStatus.NEEDS_INFORMATION, RequestStatus.REFUSED, RequestStatus.GRANTED)
    _to_contact(REQUEST_STATUS, referent, {
        "reference": request.reference, "kind": LABELS[RequestKind][request.kind], "council": request.council.name,
        "status": LABELS[RequestStatus][request.status],
        "manager_message": request.manager_message if explained else "",
        "request_url": f"{_base()}/catalog/requests/{request.id}"}, headers=AUTOMATIC, related=request)


def remind_renewal(record: Grant, addresses: list[str], today: date) -> None:
    """Remind the referent and the catalogue managers that ``record`` ends soon, each in their language."""
    recipients.send_to_each(RENEWAL_REMINDER, addresses, {
        "council": record.council.name, "instance_url": record.instance.base_url, "ends_on": record.ends_on,
        "days_left": (record.ends_on - today).days, "catalog_url": f"{_base()}/catalog/",
        "grace_days": current_app.config["CATALOG_GRACE_DAYS"]}, headers=AUTOMATIC, related=record)

