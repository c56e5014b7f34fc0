"""Every paginated list, walked as a person would: page 1 → 2 → 3 by its "Next" link, each page with other
rows, its filters and sorting kept in the link and still applied on page 3; past the end is the last page,
a page number that is not one is the first."""
from __future__ import annotations

import html
import re
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.accompaniment import services as accompaniment
from helpdesk.auth.models import Role
from helpdesk.auth.services import create_user
from helpdesk.catalog import services as catalog
from helpdesk.catalog.models import CatalogCall, Grant
from helpdesk.catalog.services import RequestData
from helpdesk.core.models import utcnow
from helpdesk.councils.models import CouncilKind
from helpdesk.extensions import db
from helpdesk.instances.states import InstanceStatus
from helpdesk.mail.intake import arrive, ingest_many
from helpdesk.mail.models import HeldMail
from helpdesk.tickets.services import CallData, TicketData, change_status, log_call
from helpdesk.tickets.states import CallDirection, Channel, Priority, TicketStatus
from tests import factories
from tests.catalog.test_services import decided, filed

NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
PAGE_OF = re.compile(r"Page (\d+) of (\d+)")
MADRID = ZoneInfo("Europe/Madrid")


@pytest.fixture
def small_pages(app):
    app.config["PAGE_SIZE"] = 5


def sign_in(client, role: Role, council=None):
    person = factories.user(role, of=council, language="en")
    client.login(person.email, factories.PASSWORD)
    return person


def walk(client, url: str, pages: int = 3) -> tuple[list[str], list[str]]:
    """The first ``pages`` pages of a list, each reached by the previous page's "Next" link: the addresses
    followed and the pages' HTML."""
    addresses, bodies = [], []
    for _ in range(pages):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        addresses.append(url)
        bodies.append(body)
        link = NEXT.search(body)
        url = html.unescape(link.group(1)) if link else None
    return addresses, bodies


def page_of(body: str) -> tuple[int, int]:
    found = PAGE_OF.search(body)
    assert found, "no pager on the page"
    return int(found.group(1)), int(found.group(2))


def shown(body: str, labels: list[str]) -> list[str]:
    return [label for label in labels if html.escape(label, quote=True) in body or label in body]


def check_walk(client, url: str, labels: list[str], per_page: int, hidden: list[str] = (),
               kept: dict[str, str] | None = None) -> list[str]:
    """``labels`` are the rows the list should show, in its order: page by page, ``per_page`` at a time."""
    pages = -(-len(labels) // per_page)
    assert pages > 3
    addresses, bodies = walk(client, url)
    for number, (address, body) in enumerate(zip(addresses, bodies), start=1):
        assert page_of(body) == (number, pages)
        assert shown(body, labels) == labels[(number - 1) * per_page:number * per_page], f"page {number}"
        assert not shown(body, list(hidden)), f"page {number} shows rows its filters leave out"
        for key, value in (kept or {}).items():
            assert f"{key}={value}" in address, f"{key} lost on the way to page {number}"
    separator = "&" if "?" in url else "?"
    last = client.get(f"{url}{separator}page=999").get_data(as_text=True)
    assert page_of(last) == (pages, pages)
    assert shown(last, labels) == labels[(pages - 1) * per_page:]
    first = client.get(f"{url}{separator}page=abc").get_data(as_text=True)
    assert page_of(first) == (1, pages)
    assert shown(first, labels) == labels[:per_page]
    return bodies


# --- tickets --------------------------------------------------------------------------------------------

def test_the_inbox_pages_with_its_filters_and_sort(client, app, small_pages):
    vic = factories.council("Ajuntament de Vic")
    now = utcnow()
    wanted = [factories.ticket(f"Consulta urgent {number:02d}", of=vic, priority=Priority.HIGH,
                               now=now + timedelta(minutes=number)).subject for number in range(1, 17)]
    low = [factories.ticket(f"Consulta tranquil·la {number:02d}", of=vic, now=now).subject for number in range(3)]
    pending = factories.ticket("Consulta en espera 01", of=vic, priority=Priority.HIGH, now=now)
    change_status(None, pending, TicketStatus.PENDING, now)
    db.session.commit()
    sign_in(client, Role.AGENT)
    # Oldest first: the sort shows on page 1 as on page 3.
    bodies = check_walk(client, "/inbox?view=all&status=new&priority=high&sort=created", wanted, 5,
                        hidden=low + ["Consulta en espera 01"],
                        kept={"status": "new", "priority": "high", "sort": "created"})
    # Sorting is chosen in the filter form, which page 3 still shows filled in: sorting again keeps the filters.
    for chosen in ('value="new" selected', 'value="high" selected', 'value="created" selected'):
        assert chosen in bodies[2]
    # Newest first, the other way round.
    check_walk(client, "/inbox?view=all&status=new&priority=high&sort=-created", wanted[::-1], 5)


def test_a_council_pages_through_its_own_tickets_only(client, app, small_pages):
    vic, other = factories.council("Ajuntament de Vic"), factories.council("Ajuntament de Manresa")
    now = utcnow()
    ours = [factories.ticket(f"Dubte de Vic {number:02d}", of=vic, now=now + timedelta(minutes=number)).subject
            for number in range(1, 17)]
    theirs = [factories.ticket(f"Dubte de Manresa {number:02d}", of=other, now=now + timedelta(minutes=number)
                               ).subject for number in range(1, 6)]
    sign_in(client, Role.COUNCIL_USER, vic)
    check_walk(client, "/tickets", ours[::-1], 5, hidden=theirs)  # last updated first


def test_calls_page_with_the_search_kept(client, app, small_pages):
    agent = sign_in(client, Role.AGENT)
    start = utcnow() - timedelta(days=1)

    def call(summary: str, minutes: int) -> None:
        log_call(agent, CallData(CallDirection.INBOUND, "938862000", "Marta Puig", start + timedelta(minutes=minutes),
                                 120, summary), utcnow(),
                 new_ticket=TicketData(subject=summary, body=summary, channel=Channel.PHONE))
    for number in range(1, 17):
        call(f"Trucada sobre el padró {number:02d}", number)
    for number in range(1, 4):
        call(f"Trucada sobre els pressupostos {number:02d}", 100 + number)
    db.session.commit()
    labels = [f"Trucada sobre el padró {number:02d}" for number in range(16, 0, -1)]  # latest first
    check_walk(client, "/calls?q=padr%C3%B3", labels, 5, hidden=["Trucada sobre els pressupostos 01"],
               kept={"q": "padr%C3%B3"})


def held_message(subject: str) -> bytes:
    message = EmailMessage()
    message["From"], message["Subject"] = "marta@vic.cat", subject
    message["Message-ID"] = f"<{subject.replace(' ', '-')}@vic.cat>"
    message["Auto-Submitted"] = "auto-replied"
    message.set_content("Torno dilluns. " * 100)
    return message.as_bytes()


@pytest.mark.parametrize("kind", ["filtered", "quarantined"])
def test_held_mail_pages_twice_as_many_rows(client, app, small_pages, kind):
    if kind == "quarantined":
        app.config["MAIL_MAX_BYTES"] = 1024  # too large to take in: kept aside whole
    subjects = [f"Resposta automatica {number:03d}" for number in range(1, 32)]
    ingest_many([arrive(held_message(subject)) for subject in subjects], "inbox")
    app.config["MAIL_MAX_BYTES"] = 25 * 1024 * 1024
    # Mail too large to read has no subject to tell it by: each row's download link does.
    labels = subjects if kind == "filtered" else [f"/admin/mail/message/{number}.eml" for number in db.session.scalars(
        select(HeldMail.id).order_by(HeldMail.id))]
    sign_in(client, Role.ADMIN)
    check_walk(client, f"/admin/mail/{kind}", labels[::-1], 10)  # latest first


# --- people and places --------------------------------------------------------------------------------

def test_users_page_with_the_search_and_role_kept(client, app, small_pages):
    for number in range(1, 17):
        create_user(None, email=f"agent{number:02d}@example.org", name=f"Prova Agent {number:02d}",
                    role=Role.AGENT, password=factories.PASSWORD, language="ca")
    for number in range(1, 4):
        create_user(None, email=f"tecnic{number:02d}@example.org", name=f"Prova Tècnic {number:02d}",
                    role=Role.TECHNICIAN, password=factories.PASSWORD, language="ca")
    db.session.commit()
    sign_in(client, Role.ADMIN)
    labels = [f"Prova Agent {number:02d}" for number in range(1, 17)]
    check_walk(client, "/admin/users?q=prova&role=agent", labels, 5, hidden=["Prova Tècnic 01"],
               kept={"q": "prova", "role": "agent"})


def test_councils_page_with_the_search_and_kind_kept(client, app, small_pages):
    labels = [factories.council(f"Ajuntament de la Vall {number:02d}").name for number in range(1, 17)]
    other = factories.council("Consell Comarcal de la Vall", kind=CouncilKind.COUNTY_COUNCIL).name
    factories.council("Ajuntament de Vic")
    sign_in(client, Role.AGENT)
    check_walk(client, "/councils?q=vall&kind=town_council", labels, 5, hidden=[other, "Ajuntament de Vic"],
               kept={"q": "vall", "kind": "town_council"})


def test_instances_page_with_the_status_kept(client, app, small_pages):
    vic = factories.council("Ajuntament de Vic")
    labels = [factories.instance(vic, f"https://pausa{number:02d}.participa311.diba.cat",
                                 InstanceStatus.SUSPENDED).host for number in range(1, 17)]
    active = [factories.instance(vic, f"https://viva{number:02d}.participa311.diba.cat").host for number in range(3)]
    sign_in(client, Role.AGENT)
    check_walk(client, "/instances?status=suspended", labels, 5, hidden=active, kept={"status": "suspended"})


# --- the catalogue --------------------------------------------------------------------------------------

def open_calls(*years: int) -> None:
    for year in years:
        db.session.add(CatalogCall(year=year, opens_on=date(year, 1, 15), closes_on=date(year, 3, 31)))
    db.session.commit()


def test_catalogue_requests_page_twice_as_many_rows_with_year_and_status_kept(client, app, small_pages):
    open_calls(2025, 2026)
    councils = [factories.council(f"Ajuntament de Prova {number:03d}") for number in range(1, 34)]
    for number, council in enumerate(councils[:31], start=1):
        catalog.save_request(None, council, RequestData(project_title=f"Projecte {number:03d}"),
                             datetime(2026, 2, 10, tzinfo=timezone.utc))
    for number, council in enumerate(councils[:2]):
        catalog.save_request(None, council, RequestData(project_title=f"Projecte antic {number}"),
                             datetime(2025, 2, 10, tzinfo=timezone.utc))
    db.session.commit()
    filed(councils[31], None, project_title="Projecte presentat")
    sign_in(client, Role.CATALOGUE_MANAGER)
    labels = [f"Projecte {number:03d}" for number in range(31, 0, -1)]  # newest first
    check_walk(client, "/catalog/requests?year=2026&status=draft", labels, 10,
               hidden=["Projecte antic 0", "Projecte antic 1", "Projecte presentat"],
               kept={"year": "2026", "status": "draft"})


def test_catalogue_grants_page_with_the_view_and_days_kept_and_the_csv_whole(client, app, small_pages):
    open_calls(2026)
    today = catalog.today_in_madrid(utcnow())
    hosts = []
    for number in range(1, 20):
        council = factories.council(f"Ajuntament de Prova {number:02d}")
        host = f"prova{number:02d}.participa311.diba.cat"
        record = decided(filed(council, None, desired_host=host), None)
        # Sixteen end within 60 days, in this order (two on the same day); three later.
        record.ends_on = today + timedelta(days=(number + 1) // 2 if number <= 16 else 200 + number)
        hosts.append(host)
    db.session.commit()
    sign_in(client, Role.CATALOGUE_MANAGER)
    check_walk(client, "/catalog/grants?view=ending&days=60", hosts[:16], 5, hidden=hosts[16:],
               kept={"view": "ending", "days": "60"})
    csv_text = client.get("/catalog/grants?view=ending&days=60&format=csv").get_data(as_text=True)
    assert all(host in csv_text for host in hosts[:16]) and not any(host in csv_text for host in hosts[16:])


# --- accompaniment --------------------------------------------------------------------------------------

NOW = datetime(2026, 11, 23, 9, tzinfo=timezone.utc)


def granted(name: str, host: str):
    council = factories.council(name)
    decided(filed(council, None, now=NOW - timedelta(days=30), desired_host=host), None,
            now=NOW - timedelta(days=29))
    return council


def ask(council, action: str):
    instance_id = db.session.scalar(select(Grant.instance_id).where(Grant.council_id == council.id))
    return accompaniment.ask(None, council, accompaniment.RequestData(
        instance_id=instance_id, action=action, description="", needs=["design"], preferred_dates="",
        attendees=""), NOW)


@pytest.fixture
def two_councils(app):
    db.session.add(CatalogCall(year=2026, opens_on=date(2026, 1, 15), closes_on=date(2026, 12, 31)))
    db.session.commit()
    return (granted("Ajuntament de Vic", "participa-vic.diba.cat"),
            granted("Ajuntament de Manresa", "participa-manresa.diba.cat"))


def test_a_council_pages_through_its_own_accompaniment_requests(client, app, small_pages, two_councils):
    vic, manresa = two_councils
    ours = [ask(vic, f"Procés de Vic {number:02d}").action for number in range(1, 17)]
    theirs = [ask(manresa, f"Procés de Manresa {number:02d}").action for number in range(1, 4)]
    db.session.commit()
    sign_in(client, Role.COUNCIL_USER, vic)
    check_walk(client, "/accompaniment/", ours[::-1], 5, hidden=theirs)  # newest first


def test_staff_page_through_accompaniment_requests_with_the_council_kept(client, app, small_pages, two_councils):
    vic, manresa = two_councils
    ours = [ask(vic, f"Procés de Vic {number:02d}").action for number in range(1, 17)]
    theirs = [ask(manresa, f"Procés de Manresa {number:02d}").action for number in range(1, 4)]
    db.session.commit()
    vic_id = vic.id
    sign_in(client, Role.AGENT)
    check_walk(client, f"/accompaniment/requests?council={vic_id}", ours[::-1], 5, hidden=theirs,
               kept={"council": str(vic_id)})
    every = client.get(f"/accompaniment/requests?council={vic_id}&format=csv").get_data(as_text=True)
    assert all(action in every for action in ours) and not any(action in every for action in theirs)


def test_the_otpgl_queue_pages_oldest_first_with_only_requests_to_assess(client, app, small_pages, two_councils):
    vic, manresa = two_councils
    waiting = [ask(vic if number % 2 else manresa, f"Procés {number:02d}").action for number in range(1, 17)]
    decided_already = [ask(vic, f"Procés decidit {number:02d}") for number in range(1, 4)]
    for item in decided_already:
        accompaniment.authorise(None, item, "Endavant.", NOW)
    db.session.commit()
    sign_in(client, Role.OTPGL_APPROVER)
    # All asked at the same moment: the order is the order they came in, the same on every page.
    check_walk(client, "/accompaniment/queue", waiting, 5, hidden=["Procés decidit 01", "Procés decidit 03"])


def test_upcoming_sessions_page_as_a_list_and_a_week_is_whole(client, app, small_pages, two_councils):
    vic, _ = two_councils
    item = ask(vic, "Procés de Vic")
    accompaniment.authorise(None, item, "Endavant.", NOW)
    adviser = factories.user(Role.AGENT, language="en")
    colleague = factories.user(Role.AGENT)
    today = utcnow().astimezone(MADRID).date()
    monday = today - timedelta(days=today.weekday()) + timedelta(weeks=2)

    booked: list[tuple[datetime, str]] = []

    def book(who, day: date, hour: int, place: str) -> str:
        starts_at = datetime.combine(day, datetime.min.time(), MADRID) + timedelta(hours=hour)
        accompaniment.schedule_session(who, item, accompaniment.SessionData(
            kind="design", starts_at=starts_at, duration_minutes=60, online=True, location=place, adviser_id=who.id,
            attendees=""), utcnow())
        booked.append((starts_at, place))
        return place
    # Sixteen of mine in one week, four a day at 9, 11, 13 and 15; three of a colleague's at 10.
    mine = [book(adviser, monday + timedelta(days=number // 4), 9 + 2 * (number % 4),
                 f"https://meet.example.org/sessio-{number:02d}") for number in range(16)]
    theirs = [book(colleague, monday + timedelta(days=number), 10, f"https://meet.example.org/altra-{number:02d}")
              for number in range(3)]
    db.session.commit()
    client.login(adviser.email, factories.PASSWORD)
    check_walk(client, "/accompaniment/sessions", mine, 5, hidden=theirs)  # soonest first
    check_walk(client, "/accompaniment/sessions?all=1", [place for _, place in sorted(booked)], 5, kept={"all": "1"})
    # A week is shown whole, more than a page of it, without a pager.
    week = monday.isocalendar()
    whole = client.get(f"/accompaniment/sessions?week={week.year}-W{week.week:02d}").get_data(as_text=True)
    assert 'class="pager"' not in whole
    assert sum(whole.count(f">{hour}:00 ") for hour in ("09", "11", "13", "15")) == 16
    assert ">10:00 " not in whole  # the colleague's are not mine
