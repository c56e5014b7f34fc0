"""Demo data: a handful of councils with contacts and instances, and one user per role.

Seeding goes through the services, so it obeys the same rules as the screens; running it again
changes nothing. The people, phone numbers and addresses are made up.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, select

from helpdesk.auth.models import Role, User
from helpdesk.auth.services import create_user
from helpdesk.catalog.lists import save_call
from helpdesk.catalog.models import CatalogRequest, Grant
from helpdesk.catalog.services import call_for, default_resource
from helpdesk.catalog.states import GrantStatus, ProjectKind, RequestStatus
from helpdesk.core.models import utcnow
from helpdesk.councils.models import Contact, Council, CouncilKind
from helpdesk.councils.services import ContactData, CouncilData, create_council, save_contact, update_council
from helpdesk.extensions import db
from helpdesk.instances.models import PlatformInstance
from helpdesk.kb.seed import seed_articles
from helpdesk.instances.services import InstanceData, change_instance_status, create_instance
from helpdesk.instances.states import InstanceStatus
from helpdesk.tickets.canned import save_canned_reply, texts_of
from helpdesk.tickets.models import CannedReply, Ticket
from helpdesk.tickets.services import TicketData, add_message, open_ticket
from helpdesk.tickets.states import Category, Channel, MessageKind, TicketStatus

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
# The demo administrator's second factor (when SECOND_FACTOR_ROLES asks one of administrators): a fixed key, printed
# by `helpdesk demo`, so that anyone trying the desk can add it to an authenticator app. Never a real desk's.
DEMO_TOTP_SECRET = "PARTICIPADEMOADMINTOTPSECRETKEYS"


# (Catalan title, Catalan text, {language: (title, text)} in Spanish and English)
CANNED_REPLIES = [
    ("Sol·licitud rebuda", "Bon dia {requester_name},\n\nHem rebut la vostra consulta ({ticket_number}) i ja "
     "hi estem treballant. Us direm alguna cosa ben aviat.\n\nCordialment,\nSuport Participa311", {
         "es": ("Solicitud recibida", "Buenos días, {requester_name}:\n\nHemos recibido vuestra consulta "
                "({ticket_number}) y ya estamos trabajando en ella. Os diremos algo muy pronto.\n\n"
                "Atentamente,\nSoporte Participa311"),
         "en": ("Request received", "Hello {requester_name},\n\nWe have received your query ({ticket_number}) "
                "and are already working on it. We will get back to you very soon.\n\nKind regards,\n"
                "Participa311 Support")}),
    ("Canvi de logotip", "Bon dia {requester_name},\n\nEl logotip es canvia des del tauler d'administració de "
     "{instance_url}/admin, a Configuració > Aparença. Si no hi teniu accés, digueu-nos-ho.\n\nCordialment,\n"
     "Suport Participa311", {
         "es": ("Cambio de logotipo", "Buenos días, {requester_name}:\n\nEl logotipo se cambia desde el panel de "
                "administración de {instance_url}/admin, en Configuración > Apariencia. Si no tenéis acceso, "
                "decídnoslo.\n\nAtentamente,\nSoporte Participa311"),
         "en": ("Changing the logo", "Hello {requester_name},\n\nThe logo is changed from the administration "
                "dashboard at {instance_url}/admin, under Settings > Appearance. If you do not have access to it, "
                "let us know.\n\nKind regards,\nParticipa311 Support")}),
]

# (subject, INE code or None, category, channel, requester e-mail, first message, agent's reply or None, status)
TICKETS = [
    ("No puc canviar el logotip de la plataforma", "08298", Category.CONFIGURATION, Channel.EMAIL,
     "mpuigdollers@vic.cat", "Bon dia, hem provat de pujar el logotip nou però continua sortint l'antic.",
     "Bon dia Marta, quin format té el fitxer? Ens el podeu enviar?", TicketStatus.PENDING),
    ("Error en carregar els pressupostos participatius", "08113", Category.INCIDENT, Channel.WEB,
     "nsoler@ajmanresa.cat", "Quan obrim el component de pressupostos surt una pàgina d'error 500.", None,
     TicketStatus.NEW),
    ("Consulta sobre la renovació de la sol·licitud", "08096", Category.CATALOGUE, Channel.EMAIL,
     "lroca@ajuntament.granollers.cat", "Quan s'ha de presentar la renovació del recurs Participa311?",
     "La renovació es demana a la convocatòria del Catàleg de Serveis; us n'enviem els detalls.",
     TicketStatus.RESOLVED),
    ("Dubte sobre la inscripció de menors de 14 anys", None, Category.USAGE, Channel.EMAIL,
     "veina.curiosa@gmail.com", "Un menor de 14 anys es pot registrar a la plataforma del meu poble?", None,
     TicketStatus.NEW),
]


@dataclass
class Summary:
    councils: int = 0
    contacts: int = 0
    instances: int = 0
    users: int = 0
    tickets: int = 0
    admin_second_factor: str = ""  # the demo administrator's TOTP key, when it has one


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
    admin_second_factor = _seed_admin_second_factor()
    for title, body, translations in CANNED_REPLIES:
        canned_reply = db.session.scalar(select(CannedReply).where(CannedReply.title == title))
        if canned_reply is None:
            save_canned_reply(None, title, body, True, translations=translations)
        else:
            texts = texts_of(canned_reply)
            missing = {language: pair for language, pair in translations.items() if language not in texts}
            if missing:  # languages shipped since the reply was seeded; what an administrator wrote is kept
                kept = {language: pair for language, pair in texts.items() if language != "ca"}
                save_canned_reply(None, canned_reply.title, canned_reply.body, canned_reply.is_active, canned_reply,
                                  translations={**kept, **missing})
    agent = db.session.scalar(select(User).where(User.role == Role.AGENT).order_by(User.id))
    for subject, ine_code, category, channel, email, body, reply, status in TICKETS:
        if db.session.scalar(select(Ticket.id).where(Ticket.subject == subject)) is not None:
            continue
        now = utcnow()
        council_id = db.session.scalar(select(Council.id).where(Council.ine_code == ine_code)) if ine_code else None
        contact_id = db.session.scalar(select(Contact.id).where(Contact.email == email))
        ticket = open_ticket(None, TicketData(subject=subject, body=body, channel=channel, category=category,
                                              council_id=council_id, requester_contact_id=contact_id,
                                              requester_email=email), now)
        if reply:
            add_message(agent, ticket, MessageKind.REPLY, reply, now,
                        new_status=status if status is not TicketStatus.OPEN else None)
    _seed_catalog()
    seed_articles()
    db.session.flush()
    return Summary(councils=_count(Council), contacts=_count(Contact), instances=_count(PlatformInstance),
                   users=_count(User), tickets=_count(Ticket), admin_second_factor=admin_second_factor)


def _seed_admin_second_factor() -> str:
    """Give the demo administrator the demo TOTP key when its role must have a second factor; the key."""
    import pyotp
    from flask import current_app

    from helpdesk.auth import second_factor
    admin = db.session.scalar(select(User).where(User.email == DEMO_USERS[0][0]))
    if admin is None or not second_factor.is_required(admin, current_app.config):
        return ""
    if not admin.has_second_factor:
        now = utcnow()
        # With the previous step's code (within the drift allowed), so that the code shown now still signs in.
        second_factor.enrol(admin, DEMO_TOTP_SECRET, pyotp.TOTP(DEMO_TOTP_SECRET).at(now - timedelta(seconds=30)),
                            now, current_app.config["SECRET_KEY"])
    return DEMO_TOTP_SECRET


# Past grants of the demo instances: (INE code, days until the grant ends).
GRANTS = [("08298", 60), ("08113", 420)]


def _seed_catalog() -> None:
    """This year's call (open all year, for trying it out) and past grants: Vic's can be renewed now."""
    today = date.today()
    if call_for(today.year) is None:
        save_call(None, today.year, date(today.year, 1, 7), date(today.year, 12, 31))
    resource = default_resource()
    for ine_code, days_left in GRANTS:
        council = db.session.scalar(select(Council).where(Council.ine_code == ine_code))
        if db.session.scalar(select(Grant.id).where(Grant.council_id == council.id)) is not None:
            continue
        ends_on = today + timedelta(days=days_left)
        starts_on = ends_on - relativedelta(years=2)
        referent = next(contact for contact in council.contacts if contact.is_technical_referent)
        request = CatalogRequest(council=council, resource=resource, year=starts_on.year, status=RequestStatus.GRANTED,
                                 project_kind=ProjectKind.PARTICIPATORY_PROCESS,
                                 project_title=f"Pressupostos participatius {starts_on.year}",
                                 project_description="Procés anual de pressupostos participatius.",
                                 referent=referent, instance=council.instances[0], languages=["ca", "es"],
                                 accepts_terms=True, submitted_at=utcnow() - (today - starts_on),
                                 decided_at=utcnow() - (today - starts_on))
        db.session.add(request)
        db.session.add(Grant(council=council, resource=resource, instance=council.instances[0], request=request,
                             starts_on=starts_on, ends_on=ends_on, status=GrantStatus.ACTIVE))


def _path_to(status: InstanceStatus) -> list[InstanceStatus]:
    """The status changes that take a new (provisioning) instance to ``status``."""
    if status is InstanceStatus.PROVISIONING:
        return []
    if status is InstanceStatus.ACTIVE:
        return [InstanceStatus.ACTIVE]
    return [InstanceStatus.ACTIVE, status]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))
