"""Test data made through the services, so that it obeys the same rules as real data."""
from __future__ import annotations

import itertools

from helpdesk.auth.models import Role, User
from helpdesk.auth.services import create_user
from helpdesk.councils.models import Contact, Council, CouncilKind
from helpdesk.councils.services import ContactData, CouncilData, create_council, save_contact
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.instances.services import InstanceData, change_instance_status, create_instance
from helpdesk.instances.states import InstanceStatus
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import TicketData, open_ticket
from helpdesk.tickets.states import Channel

PASSWORD = "Correct-Horse-311"
_numbers = itertools.count(1)


def council(name: str | None = None, ine_code: str | None = None, domains=(), phones=(),
            kind: CouncilKind = CouncilKind.TOWN_COUNCIL) -> Council:
    number = next(_numbers)
    created = create_council(None, CouncilData(name=name or f"Ajuntament de Prova {number}",
                                               ine_code=ine_code or f"{8000 + number:05d}", kind=kind,
                                               email_domains=list(domains), phone_numbers=list(phones)))
    db.session.commit()
    return created


def contact(of: Council, name: str = "Joana Vila", email: str | None = None, phone: str = "",
            referent: bool = False, position: str = "") -> Contact:
    created = save_contact(None, of, ContactData(name=name, position=position,
                                                 email=email or f"persona{next(_numbers)}@example.org",
                                                 phone=phone, is_technical_referent=referent))
    db.session.commit()
    return created


def instance(of: Council, url: str | None = None, status: InstanceStatus = InstanceStatus.ACTIVE,
             version: str = "0.28.5") -> PlatformInstance:
    created = create_instance(None, of, InstanceData(url or f"https://prova{next(_numbers)}.participa311.diba.cat",
                                                     version, ("proposals", "meetings")))
    if status is not InstanceStatus.PROVISIONING:
        change_instance_status(None, created, InstanceStatus.ACTIVE)
    if status not in (InstanceStatus.PROVISIONING, InstanceStatus.ACTIVE):
        change_instance_status(None, created, status)
    db.session.commit()
    return created


def user(role: Role = Role.AGENT, of: Council | None = None, email: str | None = None,
         password: str = PASSWORD, language: str = "ca") -> User:
    created = create_user(None, email=email or f"{role.value}{next(_numbers)}@example.org", name=f"{role.value} user",
                          role=role, password=password, council_id=of.id if of else None, language=language)
    db.session.commit()
    return created


def ticket(subject: str = "No puc entrar a l'administració", body: str = "Ens surt un error en entrar.",
           of: Council | None = None, actor: User | None = None, **fields) -> Ticket:
    now = fields.pop("now", None) or utcnow()
    data = TicketData(subject=subject, body=body, channel=fields.pop("channel", Channel.EMAIL),
                      council_id=of.id if of else None, **fields)
    created = open_ticket(actor, data, now)
    db.session.commit()
    return created
