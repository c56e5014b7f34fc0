"""Demo data: a handful of councils with contacts and instances, and one user per role; for the active
instances 90 days of the monitor's history (Vic's with one short outage) and a planned maintenance; two of
Vic's resolved tickets rated, an accompaniment session held and a Decidim upgrade, so that its status page
and renewal dossier show something in each part.

Seeding goes through the services, so it obeys the same rules as the screens; running it again
changes nothing. The people, phone numbers and addresses are made up. Two kinds of rows have no service,
and are written here as their only writer writes them: the monitor's daily sums (HealthDay) and its outage
(tickets/outages.py), and the date a version was first seen (dossier/history.py stamps it "now").
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select

from helpdesk.accompaniment.models import AccompanimentRequest
from helpdesk.accompaniment.services import RequestData, SessionData, authorise, record_outcome, schedule_session
from helpdesk.accompaniment.services import ask as ask_accompaniment
from helpdesk.auth.models import Role, User
from helpdesk.auth.services import create_user
from helpdesk.catalog.lists import save_call
from helpdesk.catalog.models import CatalogRequest, Grant
from helpdesk.catalog.services import call_for, default_resource
from helpdesk.catalog.states import GrantStatus, ProjectKind, RequestStatus
from helpdesk.core.models import utcnow
from helpdesk.councils.models import Contact, Council, CouncilKind
from helpdesk.councils.services import ContactData, CouncilData, create_council, save_contact, update_council
from helpdesk.dossier.models import InstanceVersion
from helpdesk.extensions import db
from helpdesk.instances.maintenance import MaintenanceWindow
from helpdesk.instances.models import HealthDay, Outage, PlatformInstance
from helpdesk.kb.seed import seed_articles
from helpdesk.instances.services import InstanceData, change_instance_status, create_instance, update_instance
from helpdesk.instances.states import InstanceStatus
from helpdesk.status.services import MaintenanceData, schedule_maintenance
from helpdesk.tickets.canned import save_canned_reply, texts_of
from helpdesk.tickets.models import CannedReply, Ticket
from helpdesk.tickets.satisfaction import rate
from helpdesk.tickets.services import TicketData, add_message, assign, change_status, open_ticket, system_note
from helpdesk.tickets.states import Category, Channel, MessageKind, Priority, TicketStatus

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

# Vic's tickets of past weeks, resolved by the agent's reply and rated by Vic's council user in the portal:
# (subject, category, channel, first message, reply, days ago, good?, comment). The other tickets stay unrated.
RATED_TICKETS = [
    ("Com donem accés d'administració a una companya", Category.USAGE, Channel.EMAIL,
     "Bon dia, una companya nova de l'àrea ha de poder gestionar els processos. Com li donem accés?",
     "Bon dia Marta, des de {instance_url}/admin, a Participants > Administradors, la podeu convidar amb el "
     "rol d'administradora. Li arribarà un correu per acceptar la invitació.", 34, True, ""),
    ("La consulta ciutadana no es veu bé al mòbil", Category.INCIDENT, Channel.WEB,
     "Les preguntes de la consulta surten tallades quan s'obren des del mòbil.",
     "Bon dia Marta, ho hem corregit ajustant el disseny del component d'enquestes. Ens ho confirmeu?", 12, False,
     "Va trigar més d'una setmana i amb alguns mòbils encara es veu tallat."),
]

# The monitor's history of the demo's active instances: a check every MONITOR_MINUTES (2: 720 a day), a mean
# latency each, and Vic's one outage (days ago, start in UTC, minutes).
HISTORY_DAYS = 90
LATENCY_MS = {"08298": 180, "08113": 240}
VIC_OUTAGE = (23, time(3, 10), 40)
# A maintenance planned for the coming days, for Vic's and Manresa's instances (local time).
MAINTENANCE = (3, time(20, 0), timedelta(hours=2), ("08298", "08113"),
               "Actualització de seguretat del servidor i còpia de seguretat completa. La plataforma pot no "
               "respondre durant uns minuts.")
# Decidim versions an instance ran before the one it runs now: INE code -> ((version, seen since: days ago), …).
EARLIER_VERSIONS = {"08298": (("0.27.6", 660),)}
UPGRADED_DAYS_AGO = 150  # when it moved to the version it runs now


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
                created = _create_instance(council, InstanceData(url, version, STANDARD_MODULES if version else ()))
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
    now = utcnow()
    _seed_platform_history(now)
    _seed_maintenance(now)
    _seed_rated_tickets(agent, now)
    _seed_accompaniment(agent, now)
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


def _create_instance(council: Council, data: InstanceData) -> PlatformInstance:
    """Register a demo instance; one with earlier versions is registered at the oldest and upgraded since.
    The history records each version "now" (dossier/history.py): here it is dated when each was first seen."""
    earlier = EARLIER_VERSIONS.get(council.ine_code or "", ())
    if not earlier:
        return create_instance(None, council, data)
    instance = create_instance(None, council, InstanceData(data.base_url, earlier[0][0], data.enabled_modules))
    for version, _days_ago in earlier[1:]:
        update_instance(None, instance, InstanceData(data.base_url, version, data.enabled_modules))
    update_instance(None, instance, data)
    db.session.flush()
    today = utcnow()
    seen = [today - timedelta(days=days_ago) for _version, days_ago in earlier]
    seen.append(today - timedelta(days=UPGRADED_DAYS_AGO))
    rows = db.session.scalars(select(InstanceVersion).where(InstanceVersion.instance_id == instance.id)
                              .order_by(InstanceVersion.id)).all()
    for row, moment in zip(rows, seen, strict=True):
        row.first_seen_at = moment
    return instance


def _instance_of(ine_code: str) -> PlatformInstance | None:
    return db.session.scalar(select(PlatformInstance).join(Council, Council.id == PlatformInstance.council_id)
                             .where(Council.ine_code == ine_code).order_by(PlatformInstance.id))


def _seed_platform_history(now: datetime) -> None:
    """90 days of the monitor's daily sums for each active demo instance that has none (today's so far), Vic's
    outage with its ticket as the monitor opens and resolves them, and each seen up at the last check."""
    checks_a_day = 24 * 60 // current_app.config["MONITOR_MINUTES"]
    today = now.date()
    checks_today = (now.hour * 60 + now.minute) // current_app.config["MONITOR_MINUTES"] + 1
    outage_day, outage_start, outage_minutes = VIC_OUTAGE
    for ine_code, latency in LATENCY_MS.items():
        instance = _instance_of(ine_code)
        if instance is None or instance.status is not InstanceStatus.ACTIVE or db.session.scalar(
                select(HealthDay.id).where(HealthDay.instance_id == instance.id).limit(1)) is not None:
            continue
        has_outage = ine_code == "08298"
        for days_ago in range(HISTORY_DAYS):
            checks = checks_a_day if days_ago else checks_today
            failed = outage_minutes // current_app.config["MONITOR_MINUTES"] if (
                has_outage and days_ago == outage_day) else 0
            db.session.add(HealthDay(instance_id=instance.id, day=today - timedelta(days=days_ago), checks=checks,
                                     up_checks=checks - failed, latency_ms_total=(checks - failed) * latency))
        if has_outage:
            started = datetime.combine(today - timedelta(days=outage_day), outage_start, now.tzinfo)
            _past_outage(instance, started, started + timedelta(minutes=outage_minutes))
        instance.health, instance.failures_in_a_row, instance.down_since = "up", 0, None
        instance.health_checked_at = now


def _past_outage(instance: PlatformInstance, started: datetime, ended: datetime) -> None:
    """An outage over, as the monitor leaves it: its urgent ticket (opened after MONITOR_FAILURES failed checks,
    in the desk's language), the recovery noted, resolved. No one is mailed about the past."""
    failures = current_app.config["MONITOR_FAILURES"]
    opened_at = started + timedelta(minutes=current_app.config["MONITOR_MINUTES"] * (failures - 1))
    error = "timeout"
    with force_locale(current_app.config["DEFAULT_LANGUAGE"]):
        subject = _("Outage: %(host)s is not answering", host=instance.host)
        body = _("%(host)s (%(council)s) has failed %(count)d checks in a row since %(since)s UTC. Last error: "
                 "%(error)s", host=instance.host, council=instance.council.name, count=failures,
                 since=started.strftime("%Y-%m-%d %H:%M"), error=error)
        recovered = _("Answering again. The outage lasted %(minutes)d minutes.",
                      minutes=round((ended - started).total_seconds() / 60))
    ticket = open_ticket(None, TicketData(subject=subject, body=body, channel=Channel.MONITOR,
                                          category=Category.OUTAGE, priority=Priority.URGENT,
                                          council_id=instance.council_id, instance_id=instance.id), opened_at,
                         first_kind=MessageKind.NOTE)
    db.session.add(Outage(instance_id=instance.id, started_at=started, ended_at=ended, ticket_id=ticket.id,
                          last_error=error, noted_at=opened_at))
    system_note(ticket, recovered, ended)
    change_status(None, ticket, TicketStatus.RESOLVED, ended, reason="recovered")


def _seed_maintenance(now: datetime) -> None:
    """The demo's planned maintenance, unless one is still to come."""
    days_ahead, at, length, ine_codes, reason = MAINTENANCE
    if db.session.scalar(select(MaintenanceWindow.id).where(MaintenanceWindow.reason == reason,
                                                            MaintenanceWindow.ends_at > now).limit(1)) is not None:
        return
    instances = [item for item in map(_instance_of, ine_codes) if item is not None]
    if not instances:
        return
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    starts = datetime.combine(now.astimezone(zone).date() + timedelta(days=days_ahead), at, zone)
    technician = db.session.scalar(select(User).where(User.role == Role.TECHNICIAN).order_by(User.id))
    schedule_maintenance(technician, MaintenanceData(starts, starts + length, reason,
                                                     tuple(item.id for item in instances)), now)


def _at_local(now: datetime, days_ago: int, at: time) -> datetime:
    """``at`` (local time) on the working day ``days_ago`` days before ``now`` (or the Friday before), aware."""
    zone = ZoneInfo(current_app.config["TIMEZONE"])
    day = now.astimezone(zone).date() - timedelta(days=days_ago)
    return datetime.combine(day - timedelta(days=max(0, day.weekday() - 4)), at, zone)


def _seed_rated_tickets(agent: User | None, now: datetime) -> None:
    """Vic's tickets of past weeks: opened by its referent, answered and resolved the same morning by the
    agent, rated by Vic's council user the day after."""
    council_user = db.session.scalar(select(User).where(User.email == DEMO_USERS[-1][0]))
    instance = _instance_of("08298")
    if agent is None or council_user is None or instance is None:
        return
    contact = db.session.scalar(select(Contact).where(Contact.email == "mpuigdollers@vic.cat"))
    for subject, category, channel, body, reply, days_ago, is_good, comment in RATED_TICKETS:
        if db.session.scalar(select(Ticket.id).where(Ticket.subject == subject)) is not None:
            continue
        opened_at = _at_local(now, days_ago, time(9, 40))
        ticket = open_ticket(None, TicketData(subject=subject, body=body, channel=channel, category=category,
                                              council_id=instance.council_id, instance_id=instance.id,
                                              requester_contact_id=contact.id if contact else None,
                                              requester_email="mpuigdollers@vic.cat"), opened_at)
        assign(agent, ticket, agent.id, opened_at + timedelta(minutes=20))
        add_message(agent, ticket, MessageKind.REPLY, reply.format(instance_url=instance.base_url),
                    opened_at + timedelta(hours=2), new_status=TicketStatus.RESOLVED)
        rate(ticket, is_good, comment, opened_at + timedelta(days=1), by=council_user)


def _seed_accompaniment(agent: User | None, now: datetime) -> None:
    """Vic's accompaniment for its participatory budget: asked, authorised by the OTPGL, one online session
    held a month ago."""
    action = "Pressupostos participatius a la plataforma"
    council = db.session.scalar(select(Council).where(Council.ine_code == "08298"))
    instance = _instance_of("08298")
    approver = db.session.scalar(select(User).where(User.role == Role.OTPGL_APPROVER).order_by(User.id))
    council_user = db.session.scalar(select(User).where(User.email == DEMO_USERS[-1][0]))
    if council is None or instance is None or agent is None or approver is None or council_user is None:
        return
    if db.session.scalar(select(AccompanimentRequest.id).where(AccompanimentRequest.council_id == council.id,
                                                               AccompanimentRequest.action == action)) is not None:
        return
    asked_at = _at_local(now, 45, time(10, 0))
    request = ask_accompaniment(council_user, council, RequestData(
        instance_id=instance.id, action=action, needs=["design", "configuration"],
        description="Volem obrir la fase de propostes dels pressupostos participatius a la plataforma.",
        preferred_dates="Dimarts o dijous al matí", attendees="mpuigdollers@vic.cat"), asked_at)
    authorise(approver, request, "Acció coherent amb el projecte de la concessió: s'autoritza.",
              asked_at + timedelta(days=1))
    held_at = _at_local(now, 30, time(10, 0))
    session = schedule_session(agent, request, SessionData(
        kind="design", starts_at=held_at, duration_minutes=90, online=True,
        location="https://meet.jit.si/participa311-vic", adviser_id=agent.id), asked_at + timedelta(days=2))
    record_outcome(agent, session, "Hem adaptat les fases del procés i el calendari a la plataforma.",
                   "Cal revisar els permisos de votació abans d'obrir la fase.",
                   "Configurar el component de pressupostos.", held_at + timedelta(hours=2))


def _path_to(status: InstanceStatus) -> list[InstanceStatus]:
    """The status changes that take a new (provisioning) instance to ``status``."""
    if status is InstanceStatus.PROVISIONING:
        return []
    if status is InstanceStatus.ACTIVE:
        return [InstanceStatus.ACTIVE]
    return [InstanceStatus.ACTIVE, status]


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))
