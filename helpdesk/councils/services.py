"""Councils and contacts: the rules for creating and changing them."""
from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from helpdesk.auth.models import User
from helpdesk.config import LANGUAGE_LABELS
from helpdesk.core import audit
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.search import fold
from helpdesk.core.validation import normalise_domain, normalise_email, normalise_phone
from helpdesk.councils.models import (INE_CODE_PATTERN, NAME_MAX_LENGTH, PUBLIC_MAIL_DOMAINS,
                                      Contact, Council, CouncilDomain, CouncilKind, CouncilPhone)
from helpdesk.extensions import db


@dataclass(frozen=True)
class CouncilData:
    """What a form, a CSV row or the demo seeder gives to create or change a council."""

    name: str
    kind: CouncilKind
    ine_code: str
    email_domains: list[str] | None = None  # None: keep the council's current ones
    phone_numbers: list[str] | None = None
    notes: str | None = None


def require_council_editor(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise NotAllowed(_l("Only administrators can create or change councils."))


def _clean(data: CouncilData, council: Council | None) -> CouncilData:
    """Normalise and check ``data``; raise DomainError naming the first field that is wrong."""
    name = " ".join(data.name.split())
    if not name:
        raise DomainError(_l("The name is required."), "name")
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(_l("The name must have at most %(count)d characters.", count=NAME_MAX_LENGTH), "name")
    ine_code = data.ine_code.strip()
    if not re.match(INE_CODE_PATTERN, ine_code):
        raise DomainError(_l("The INE code must be 5 to 10 digits, got “%(value)s”.", value=ine_code), "ine_code")
    other = db.session.scalar(select(Council).where(Council.ine_code == ine_code))
    if other is not None and other is not council:
        raise DomainError(_l("The INE code %(code)s is already used by %(name)s.", code=ine_code,
                             name=other.name), "ine_code")
    domains = None
    if data.email_domains is not None:
        domains = list(dict.fromkeys(normalise_domain(item) for item in data.email_domains))
        for domain in domains:
            if domain in PUBLIC_MAIL_DOMAINS:
                raise DomainError(_l("%(domain)s is a public mail service: its senders cannot identify a council.",
                                     domain=domain), "email_domains")
            owner = db.session.scalar(select(Council).join(CouncilDomain).where(CouncilDomain.domain == domain))
            if owner is not None and owner is not council:
                raise DomainError(_l("The domain %(domain)s already belongs to %(name)s.", domain=domain,
                                     name=owner.name), "email_domains")
    phones = None
    if data.phone_numbers is not None:
        phones = list(dict.fromkeys(normalise_phone(item, "phone_numbers") for item in data.phone_numbers))
        for number in phones:
            owner = db.session.scalar(select(Council).join(CouncilPhone).where(CouncilPhone.number == number))
            if owner is not None and owner is not council:
                raise DomainError(_l("The phone %(number)s already belongs to %(name)s.", number=number,
                                     name=owner.name), "phone_numbers")
    notes = None if data.notes is None else data.notes.strip()
    return CouncilData(name, data.kind, ine_code, domains, phones, notes)


def _apply(council: Council, data: CouncilData) -> None:
    council.name, council.kind, council.ine_code = data.name, data.kind, data.ine_code
    if data.notes is not None:
        council.notes = data.notes
    if data.email_domains is not None:
        kept = {item.domain: item for item in council.domains}
        council.domains = [kept.get(domain) or CouncilDomain(domain=domain) for domain in data.email_domains]
    if data.phone_numbers is not None:
        kept = {item.number: item for item in council.phones}
        council.phones = [kept.get(number) or CouncilPhone(number=number) for number in data.phone_numbers]


def create_council(actor: User | None, data: CouncilData) -> Council:
    """Create a council (administrators, the CLI and the seeder)."""
    require_council_editor(actor)
    data = _clean(data, None)
    council = Council(notes="", domains=[], phones=[])
    _apply(council, data)
    db.session.add(council)
    db.session.flush()
    audit.record(actor, "created", council, audit.diff({}, audit.snapshot(council, Council.AUDITED)))
    return council


def update_council(actor: User | None, council: Council, data: CouncilData) -> bool:
    """Change a council; True when something changed (and was audited)."""
    require_council_editor(actor)
    data = _clean(data, council)
    before = audit.snapshot(council, Council.AUDITED)
    _apply(council, data)
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(council, Council.AUDITED))
    if changes:
        audit.record(actor, "updated", council, changes)
    return bool(changes)


@dataclass(frozen=True)
class ContactData:
    name: str
    position: str = ""
    email: str = ""
    phone: str = ""
    is_technical_referent: bool = False
    language: str = ""  # the language of the desk's mail to them; empty: the desk's default
    # E-mail about their platform's outages and maintenance; None: as it is (a new contact receives it).
    receives_platform_notices: bool | None = None


def save_contact(actor: User | None, council: Council, data: ContactData, contact: Contact | None = None) -> Contact:
    """Add a contact to ``council`` or change ``contact``; a new technical referent replaces the previous one."""
    if actor is not None and not council.can_edit_contacts(actor):
        raise NotAllowed(_l("You cannot change this council's contacts."))
    name = " ".join(data.name.split())
    if not name:
        raise DomainError(_l("The name is required."), "name")
    if len(name) > NAME_MAX_LENGTH:
        raise DomainError(_l("The name must have at most %(count)d characters.", count=NAME_MAX_LENGTH), "name")
    position = " ".join(data.position.split())
    if len(position) > NAME_MAX_LENGTH:
        raise DomainError(_l("The position must have at most %(count)d characters.",
                             count=NAME_MAX_LENGTH), "position")
    email = normalise_email(data.email) if data.email.strip() else None
    phone = normalise_phone(data.phone) if data.phone.strip() else None
    if email is None and phone is None:
        raise DomainError(_l("Give at least an e-mail address or a phone number."), "email")
    if data.language and data.language not in LANGUAGE_LABELS:
        raise DomainError(_l("Unknown language."), "language")
    if email is not None:
        same = db.session.scalar(select(Contact).where(Contact.council_id == council.id, Contact.email == email))
        if same is not None and same is not contact:
            raise DomainError(_l("%(name)s already has the e-mail %(email)s.", name=same.name, email=email), "email")
    if data.is_technical_referent:
        for other in council.contacts:
            if other is not contact and other.is_technical_referent:
                other.is_technical_referent = False
                audit.record(actor, "updated", other,
                             {"is_technical_referent": {"before": True, "after": False}})
        db.session.flush()  # before the new referent is set: one referent per council is a unique index
    before = audit.snapshot(contact, Contact.AUDITED) if contact else {}
    if contact is None:
        contact = Contact(council=council)
        db.session.add(contact)
    contact.name, contact.position, contact.email, contact.phone = name, position, email, phone
    contact.is_technical_referent, contact.language = data.is_technical_referent, data.language
    if data.receives_platform_notices is not None:
        contact.receives_platform_notices = data.receives_platform_notices
    elif contact.receives_platform_notices is None:
        contact.receives_platform_notices = True
    db.session.flush()
    changes = audit.diff(before, audit.snapshot(contact, Contact.AUDITED))
    if changes:
        audit.record(actor, "created" if not before else "updated", contact, changes)
    return contact


def suggest_callers(number: str = "", name: str = "", limit: int = 8) -> list[dict]:
    """Councils and contacts that a caller's number or a typed name points to, best first."""
    suggestions: list[dict] = []
    try:
        e164 = normalise_phone(number) if number.strip() else ""
    except DomainError:
        e164 = ""
    if e164:
        for contact in db.session.scalars(select(Contact).where(Contact.phone == e164)):
            suggestions.append(_suggestion(contact.council, contact, "number"))
        for council in db.session.scalars(select(Council).join(CouncilPhone).where(CouncilPhone.number == e164)):
            suggestions.append(_suggestion(council, None, "number"))
    wanted = fold(" ".join(name.lower().split()))
    if len(wanted) >= 2:
        rows = db.session.execute(select(Contact, Council).join(Council)).all()
        for contact, council in rows:
            if wanted in fold(contact.name.lower()):
                suggestions.append(_suggestion(council, contact, "name"))
        for council in db.session.scalars(select(Council)):
            if wanted in fold(council.name.lower()):
                suggestions.append(_suggestion(council, None, "name"))
    unique = {(item["council_id"], item["contact_id"]): item for item in reversed(suggestions)}
    ordered = sorted(unique.values(), key=lambda item: (item["reason"] != "number", item["contact_id"] is None))
    return ordered[:limit]


def _suggestion(council: Council, contact: Contact | None, reason: str) -> dict:
    return {"council_id": council.id, "council_name": council.name,
            "contact_id": contact.id if contact else None, "contact_name": contact.name if contact else "",
            "contact_phone": contact.phone if contact else "", "reason": reason}


def council_for_address(address: str) -> Council | None:
    """The council a sender belongs to: its contact, else its e-mail domain (sub-domains count)."""
    contact = db.session.scalar(select(Contact).where(func.lower(Contact.email) == address.lower()).limit(1))
    if contact is not None:
        return contact.council
    return council_for_domain(address)


def council_for_domain(address: str) -> Council | None:
    """The council whose e-mail domain ``address`` is in (sub-domains count)."""
    domain = address.rpartition("@")[2].lower()
    parts = domain.split(".")
    candidates = [".".join(parts[index:]) for index in range(len(parts) - 1)]
    rows = dict(db.session.execute(select(CouncilDomain.domain, CouncilDomain.council_id)
                                   .where(CouncilDomain.domain.in_(candidates))).all())
    for candidate in candidates:
        if candidate in rows:
            return db.session.get(Council, rows[candidate])
    return None
