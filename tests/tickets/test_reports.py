import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.tickets.reports import compliance
from helpdesk.tickets.services import TicketData, add_message, open_ticket
from helpdesk.tickets.states import Category, Channel, MessageKind
from tests import factories
from tests.pages import text

MADRID = ZoneInfo("Europe/Madrid")


def opened(agent, day, reply_after_minutes, category=Category.INCIDENT):
    created = datetime(2026, 11, day, 9, tzinfo=MADRID)
    ticket = open_ticket(None, TicketData(subject="Prova", body="b", channel=Channel.EMAIL, category=category),
                         created)
    add_message(agent, ticket, MessageKind.REPLY, "r", created + timedelta(minutes=reply_after_minutes))
    return ticket


def test_compliance_counts_on_time_shares_median_and_90th_percentile(app, client):
    agent = factories.user(Role.AGENT, email="agent@example.org")
    for minutes in (30, 60, 90, 100, 150):  # target 120: four on time, one late
        opened(agent, 23, minutes)
    opened(agent, 24, 10, category=Category.USAGE)
    db.session.commit()
    [row] = compliance(datetime(2026, 11, 1).date(), datetime(2026, 11, 30).date(), "month", "Europe/Madrid")
    assert row.label == "2026-11" and row.tickets == 6
    assert (row.first_response.met, row.first_response.missed, row.first_response.percent_met) == (5, 1, 83.3)
    assert row.first_response.median == 75 and row.first_response.p90 == 150
    by_category = compliance(datetime(2026, 11, 1).date(), datetime(2026, 11, 30).date(), "category",
                             "Europe/Madrid")
    assert {row.key: row.first_response.percent_met for row in by_category} == {"incident": 80.0, "usage": 100.0}
    client.login("agent@example.org", factories.PASSWORD)
    page = text(client.get("/reports/sla?from=2026-11-01&to=2026-11-30&group=category"))
    assert "<svg" in page and "80 %" in page and "Incidència tècnica" in page
    csv_text = client.get("/reports/sla.csv?from=2026-11-01&to=2026-11-30&group=month").get_data(as_text=True)
    assert csv_text.splitlines()[1].startswith("2026-11,6,6,83.3,75.0,150.0")


def test_the_sla_csv_keeps_a_council_named_like_a_formula_as_text(app, client):
    agent = factories.user(Role.AGENT, email="agent@example.org")
    council = factories.council(name="=Ajuntament de Vic")
    ticket = opened(agent, 23, 30)
    ticket.council_id = council.id
    db.session.commit()
    client.login("agent@example.org", factories.PASSWORD)
    response = client.get("/reports/sla.csv?from=2026-11-01&to=2026-11-30&group=council")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))
    assert rows[1][:4] == ["'=Ajuntament de Vic", "1", "1", "100.0"]  # the name is text, the figures numbers
