"""A council with three grant periods of history, made through the services: the grant and two renewals, tickets
in several categories with met and breached clocks, the monitor's daily sums, outages, accompaniment sessions
held (and some not), ratings and Decidim version changes; and, beside it, another council's records that its
dossier must not show."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from helpdesk.accompaniment import services as accompaniment
from helpdesk.auth.models import Role, User
from helpdesk.catalog import services as catalog
from helpdesk.catalog.models import CatalogCall, Grant
from helpdesk.councils.models import Council
from helpdesk.extensions import db
from helpdesk.instances.models import HealthDay, Outage, PlatformInstance
from helpdesk.instances.services import InstanceData, update_instance
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.satisfaction import rate
from helpdesk.tickets.services import TicketData, add_message, change_status, open_ticket
from helpdesk.tickets.states import Category, Channel, MessageKind, TicketStatus
from tests import factories
from tests.catalog.test_services import complete

MADRID = ZoneInfo("Europe/Madrid")
# The second grant period: the one the tests choose (the first renewal's), cut in two years.
PERIOD = (date(2024, 2, 12), date(2026, 2, 11))


def madrid(day: date, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=MADRID)


def utc(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=timezone.utc)


@dataclass
class History:
    council_id: int
    other_id: int
    instance_id: int
    grant_id: int


def _decide(request, manager, now):
    catalog.start_review(manager, request, now)
    return catalog.grant(manager, request, now, "D'acord.")


def _ticket(agent: User, council: Council, category: Category, opened: datetime, reply_after: timedelta,
            resolved_after: timedelta | None = None) -> Ticket:
    ticket = open_ticket(None, TicketData(subject=f"{category.value} {opened:%Y-%m-%d %H:%M}", body="b",
                                          channel=Channel.EMAIL, category=category, council_id=council.id,
                                          requester_email="marta@vic.cat"), opened)
    add_message(agent, ticket, MessageKind.REPLY, "r", opened + reply_after)
    if resolved_after is not None:
        change_status(agent, ticket, TicketStatus.RESOLVED, opened + resolved_after)
    return ticket


@pytest.fixture
def history(app) -> History:
    for year in (2022, 2024, 2026):
        db.session.add(CatalogCall(year=year, opens_on=date(year, 1, 15), closes_on=date(year, 12, 31)))
    db.session.commit()
    vic = factories.council("Ajuntament de Vic", "08298")
    other = factories.council("Ajuntament de Manlleu", "08112")
    manager = factories.user(Role.CATALOGUE_MANAGER, email="cataleg@example.org", language="en")
    agent = factories.user(Role.AGENT, email="agent@example.org", language="en")
    referent = factories.contact(vic, "Marta Puig", email="marta@vic.cat", referent=True)

    # The grant (12 February 2022) and its two renewals, each from the previous end: three periods.
    first = catalog.file_request(None, vic, complete(referent, project_title="Pressupostos participatius 2022"),
                                 utc(date(2022, 2, 10)))
    record = _decide(first, manager, utc(date(2022, 2, 12)))
    provisioning = db.session.get(Ticket, record.provisioning_ticket_id)
    change_status(agent, provisioning, TicketStatus.RESOLVED, utc(date(2022, 2, 14)))  # the instance is set up
    for year, title in ((2024, "Consulta sobre la rambla"), (2026, "Reglament de participació")):
        renewal = catalog.file_request(None, vic, complete(referent, project_title=title, desired_host=""),
                                       utc(date(year, 1, 20)), renews=record)
        _decide(renewal, manager, utc(date(year, 1, 25)))
    instance = record.instance

    # Year 1 of the period: two incidents (one on time on both clocks, one late on both: 150 min for a 2 h first
    # response, a week for a 14 h resolution) and a usage question on time.
    a = _ticket(agent, vic, Category.INCIDENT, madrid(date(2024, 3, 5)), timedelta(minutes=30), timedelta(hours=1))
    _ticket(agent, vic, Category.INCIDENT, madrid(date(2024, 3, 5), 10), timedelta(minutes=150), timedelta(days=7))
    c = _ticket(agent, vic, Category.USAGE, madrid(date(2024, 4, 9)), timedelta(minutes=30), timedelta(hours=1))
    # Year 2: an incident on time; a configuration question answered after three working days (7 h target) and
    # resolved after a week (21 h target).
    d = _ticket(agent, vic, Category.INCIDENT, madrid(date(2025, 3, 4)), timedelta(minutes=30), timedelta(hours=1))
    e = _ticket(agent, vic, Category.CONFIGURATION, madrid(date(2025, 3, 4), 10), timedelta(days=3),
                timedelta(days=7))
    # Outside the period, or another council's: never counted.
    _ticket(agent, vic, Category.INCIDENT, madrid(date(2023, 3, 7)), timedelta(minutes=30), timedelta(hours=1))
    _ticket(agent, other, Category.INCIDENT, madrid(date(2024, 3, 5)), timedelta(minutes=300), timedelta(days=9))
    for ticket, good in ((a, True), (c, True), (d, True), (e, False)):
        rate(ticket, good, "", ticket.resolved_at + timedelta(hours=2))

    # The monitor's daily sums: March 2025 down half of one day, April 2025 always up; 2023 outside the period.
    for offset in range(31):
        day = date(2025, 3, 1) + timedelta(days=offset)
        db.session.add(HealthDay(instance_id=instance.id, day=day, checks=288,
                                 up_checks=144 if day == date(2025, 3, 10) else 288, latency_ms_total=0))
    for offset in range(30):
        db.session.add(HealthDay(instance_id=instance.id, day=date(2025, 4, 1) + timedelta(days=offset), checks=288,
                                 up_checks=288, latency_ms_total=0))
    db.session.add(HealthDay(instance_id=instance.id, day=date(2023, 5, 1), checks=288, up_checks=0,
                             latency_ms_total=0))
    # Outages: two in the period (2 h and 30 min), one before it.
    db.session.add_all([
        Outage(instance_id=instance.id, started_at=utc(date(2025, 3, 10), 2), ended_at=utc(date(2025, 3, 10), 4)),
        Outage(instance_id=instance.id, started_at=utc(date(2025, 6, 1), 10),
               ended_at=utc(date(2025, 6, 1), 10) + timedelta(minutes=30)),
        Outage(instance_id=instance.id, started_at=utc(date(2023, 6, 1)), ended_at=utc(date(2023, 6, 3)))])

    # Accompaniment: three sessions held in the period (two design of 90 min, a configuration one of 60), one
    # cancelled and one booked but never held.
    council_user = factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat", language="en")
    asked_at = utc(date(2025, 9, 1))
    request = accompaniment.ask(council_user, vic, accompaniment.RequestData(
        instance_id=instance.id, action="Pressupostos participatius 2026", needs=["design", "configuration"]),
        asked_at)
    accompaniment.authorise(factories.user(Role.OTPGL_APPROVER), request, "D'acord.", asked_at)
    for day, kind, minutes, outcome in ((date(2025, 9, 16), "design", 90, "held"),
                                        (date(2025, 9, 23), "design", 90, "held"),
                                        (date(2025, 10, 7), "configuration", 60, "held"),
                                        (date(2025, 10, 14), "configuration", 60, "cancelled"),
                                        (date(2025, 10, 21), "follow_up", 60, "planned")):
        session = accompaniment.schedule_session(agent, request, accompaniment.SessionData(
            kind=kind, starts_at=utc(day), duration_minutes=minutes, online=True,
            location="https://meet.example.org/vic", adviser_id=agent.id), asked_at)
        if outcome == "held":
            accompaniment.record_outcome(agent, session, "Fet.", "", "", utc(day, 15))
        elif outcome == "cancelled":
            accompaniment.cancel_session(agent, session, "No hi podien anar.", asked_at)

    # Decidim versions: registered without one, then 0.27.4 read from the platform, then 0.28.5.
    for version in ("0.27.4", "0.28.5"):
        update_instance(None, instance, InstanceData(instance.base_url, version, tuple(instance.enabled_modules)))
        db.session.flush()
    db.session.commit()
    return History(vic.id, other.id, instance.id, record.id)


@pytest.fixture
def manager_client(client, history):
    client.login("cataleg@example.org", factories.PASSWORD)
    return client


def grant_of(history: History) -> Grant:
    return db.session.get(Grant, history.grant_id)


def instance_of(history: History) -> PlatformInstance:
    return db.session.scalar(select(PlatformInstance).where(PlatformInstance.id == history.instance_id))
