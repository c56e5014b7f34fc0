"""Demo data: a handful of councils with contacts and instances, and one user per role.

Seeding goes through the services, so it obeys the same rules as the screens; running it again
changes nothing. The people, phone numbers and addresses are made up.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from helpdesk.auth.models import Role, User
from helpdesk.auth.services import create_user
from helpdesk.councils.models import Contact, Council, CouncilKind
from helpdesk.councils.services import ContactData, CouncilData, create_council, save_contact, update_council
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.instances.services import InstanceData, change_instance_status, create_instance
from helpdesk.instances.states import InstanceStatus

STANDARD_MODULES = ("participatory_processes", "assemblies", "proposals", "meetings", "surveys", "budgets",
                    "accountability", "pages", "blogs", "debates")

COUNCILS = [
    # (INE code, name, kind, domains, phones, contacts, instance (url, version, status) or None)
    ("08298", "Ajuntament de Vic", CouncilKind.TOWN_COUNCIL, ["vic.cat"], ["938 86 21 00"],
     [ContactData("Marta Puigdollers", "Tècnica de participació", "mpuigdollers@vic.cat", "938 86 21 15", True),
      ContactData("Jordi Casals", "Regidor de Participació", "jcasals@vic.cat", "")],
     ("https://vic.participa311.diba.cat", "0.28.5", InstanceStatus.ACTIVE)),
    ("08113", "Ajuntament de Manresa", CouncilKind.TOWN_COUNCIL, ["ajmanresa.cat"], ["938 78 23 00"],
     [ContactData("Núria Soler", "Cap de Participació Ciutadana", "nsoler@ajmanresa.cat", "938 78 23 40", True)],
     ("https://manresa.participa311.diba.cat", "0.28.5", InstanceStatus.ACTIVE)),
    ("08205", "Ajuntament de Sant Cugat del Vallès", CouncilKind.TOWN_COUNCIL, ["santcugat.cat"], ["935 65 70 00"],
     [ContactData("Pau Ferrer", "Tècnic de Govern Obert", "pferrer@santcugat.cat", "935 65 70 12", True)],
     ("https://santcugat.participa311.diba.cat", "", InstanceStatus.PROVISIONING)),
    ("08096", "Ajuntament de Granollers", CouncilKind.TOWN_COUNCIL, ["ajuntament.granollers.cat"], ["938 42 66 10"],
     [ContactData("Laia Roca", "Tècnica de Participació", "lroca@ajuntament.granollers.cat", "", True)],
     ("https://granollers.participa311.diba.cat", "0.27.6", InstanceStatus.SUSPENDED)),
    ("0807000", "Consell Comarcal del Bages", CouncilKind.COUNTY_COUNCIL, ["ccbages.cat"], ["936 93 03 50"],
     [ContactData("Anna Vilaró", "Tècnica de Desenvolupament Local", "avilaro@ccbages.cat", "936 93 03 51", True)],
     ("https://bages.participa311.diba.cat", "0.28.5", InstanceStatus.LAPSED)),
    ("08121", "Ajuntament de Mataró", CouncilKind.TOWN_COUNCIL, ["ajmataro.cat"], ["937 58 21 00"],
     [ContactData("Oriol Font", "Tècnic de Participació", "ofont@ajmataro.cat", "937 58 21 33", True)],
     None),
]

# (e-mail, password, role, INE code of the council for council users)
DEMO_USERS = [
    ("admin@demo.participa311.cat", "Admin-Demo-311", Role.ADMIN, None, "Administració Demo"),
    ("agent@demo.participa311.cat", "Agent-Demo-311", Role.AGENT, None, "Agent de Suport Demo"),
    ("tecnic@demo.participa311.cat", "Tecnic-Demo-311", Role.TECHNICIAN, None, "Tècnic Demo"),
    ("cataleg@demo.participa311.cat", "Cataleg-Demo-311", Role.CATALOGUE_MANAGER, None, "Gestora del Catàleg Demo"),
    ("otpgl@demo.participa311.cat", "Otpgl-Demo-311", Role.OTPGL_APPROVER, None, "Aprovadora OTPGL Demo"),
    ("referent@vic.cat", "Vic-Demo-311", Role.COUNCIL_USER, "08298", "Marta Puigdollers"),
]
DEMO_USERS_TABLE = [(email, password, role.value) for email, password, role, _, _ in DEMO_USERS]


@dataclass
class Summary:
    councils: int = 0
    contacts: int = 0
    instances: int = 0
    users: int = 0


def seed() -> Summary:
    """Create what is missing of the demo data; flush, never commit."""
    for ine_code, name, kind, domains, phones, contacts, instance in COUNCILS:
        data = CouncilData(name=name, kind=kind, ine_code=ine_code, email_domains=domains, phone_numbers=phones,
                           notes="")
        council = db.session.scalar(select(Council).where(Council.ine_code == ine_code))
        if council is None:
            council = create_council(None, data)
        else:
            update_council(None, council, data)
        for contact in contacts:
            existing = db.session.scalar(select(Contact).where(Contact.council_id == council.id,
                                                               Contact.email == contact.email))
            if existing is None:
                save_contact(None, council, contact)
        if instance is not None:
            url, version, status = instance
            if db.session.scalar(select(PlatformInstance).where(PlatformInstance.base_url == url)) is None:
                created = create_instance(None, council, InstanceData(url, version, STANDARD_MODULES if version
                                                                      else ()))
                for step in _path_to(status):
                    change_instance_status(None, created, step)
    for email, password, role, ine_code, name in DEMO_USERS:
        if db.session.scalar(select(User).where(User.email == email)) is None:
            council_id = db.session.scalar(select(Council.id).where(Council.ine_code == ine_code)) if ine_code else None
            create_user(None, email=email, name=name, role=role, password=password, council_id=council_id)
    db.session.flush()
    return Summary(councils=_count(Council), contacts=_count(Contact), instances=_count(PlatformInstance),
                   users=_count(User))


def _path_to(status: InstanceStatus) -> list[InstanceStatus]:
    """The status changes that take a new (provisioning) instance to ``status``."""
    if status is InstanceStatus.PROVISIONING:
        return []
    if status is InstanceStatus.ACTIVE:
        return [InstanceStatus.ACTIVE]
    return [InstanceStatus.ACTIVE, status]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))
