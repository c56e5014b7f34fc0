"""The SLA report's satisfaction: the ratings given in the period by month, category, council and agent, on the
page and in the CSV (the report does not page: every group is on the one page)."""
import csv
import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.tickets import satisfaction
from helpdesk.tickets.states import Category
from tests import factories
from tests.pages import text
from tests.tickets.test_satisfaction import resolved_ticket

MADRID = ZoneInfo("Europe/Madrid")


def agent(name, email):
    person = factories.user(Role.AGENT, email=email, language="en")
    person.name = name
    db.session.commit()
    return person


@pytest.fixture
def rated(app):
    """Twenty-four ratings over October and November, of two councils' tickets, worked by two agents."""
    laia, jordi = agent("Laia Serra", "laia@diba.cat"), agent("Jordi Casals", "jordi@diba.cat")
    vic = factories.council(name="Ajuntament de Vic")
    manlleu = factories.council(name="Ajuntament de Manlleu")
    factories.contact(vic, email="marta@vic.cat")
    factories.contact(manlleu, email="pere@manlleu.cat")
    plan = [  # (month, council, agent, category, good, not good)
        (10, vic, laia, Category.INCIDENT, 4, 1), (10, manlleu, jordi, Category.USAGE, 1, 2),
        (11, vic, laia, Category.USAGE, 3, 1), (11, manlleu, jordi, Category.INCIDENT, 5, 0),
        (11, manlleu, laia, Category.INCIDENT, 2, 3), (12, vic, jordi, Category.USAGE, 1, 1)]  # December: outside
    for month, council, person, category, good, not_good in plan:
        for index, is_good in enumerate([True] * good + [False] * not_good):
            opened = datetime(2026, month, 2 + index, 9, tzinfo=MADRID)
            ticket = resolved_ticket(council, person, when=opened, subject=f"Consulta {month}-{index}",
                                     requester="marta@vic.cat" if council is vic else "pere@manlleu.cat")
            ticket.category = category
            satisfaction.rate(ticket, is_good, "", opened + timedelta(days=1))
            db.session.commit()
    return laia


def csv_rows(client, group):
    response = client.get(f"/reports/sla.csv?from=2026-10-01&to=2026-11-30&group={group}")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))


def test_satisfaction_by_month_category_council_and_agent(app, rated):
    def shares(group):
        return {row.key: (row.summary.good, row.summary.not_good)
                for row in satisfaction.by_group(datetime(2026, 10, 1).date(), datetime(2026, 11, 30).date(), group,
                                                 "Europe/Madrid")}
    assert shares("month") == {"2026-10": (5, 3), "2026-11": (10, 4)}
    assert shares("council") == {"Ajuntament de Vic": (7, 2), "Ajuntament de Manlleu": (8, 5)}
    assert shares("agent") == {"Laia Serra": (9, 5), "Jordi Casals": (6, 2)}
    assert shares("category") == {"incident": (11, 4), "usage": (4, 3)}


def test_the_report_page_shows_satisfaction_beside_compliance(app, client, rated):
    client.login("laia@diba.cat", factories.PASSWORD)
    page = text(client.get("/reports/sla?from=2026-10-01&to=2026-11-30&group=agent"))
    table = page[page.index('id="satisfaction-title"'):]
    assert "Satisfaction" in page and "Share good" in table
    assert "<td>Laia Serra</td><td>9</td><td>5</td>" in table and "64.3 %" in table
    assert "<td>Jordi Casals</td><td>6</td><td>2</td>" in table and "75.0 %" in table
    page = text(client.get("/reports/sla?from=2026-10-01&to=2026-11-30&group=month"))
    table = page[page.index('id="satisfaction-title"'):]
    assert "<td>2026-10</td><td>5</td><td>3</td>" in table and "<td>2026-11</td><td>10</td><td>4</td>" in table
    empty = text(client.get("/reports/sla?from=2025-01-01&to=2025-01-31&group=council"))
    assert "No ratings in this period." in empty


def test_the_csv_adds_the_satisfaction_columns_to_each_group(app, client, rated):
    client.login("laia@diba.cat", factories.PASSWORD)
    rows = csv_rows(client, "council")
    assert rows[0][-3:] == ["rated_good", "rated_not_good", "rated_good_percent"]
    by_council = {row[0]: row for row in rows[1:]}
    assert by_council["Ajuntament de Vic"][-3:] == ["7", "2", "77.8"]
    assert by_council["Ajuntament de Manlleu"][-3:] == ["8", "5", "61.5"]
    assert by_council["Ajuntament de Vic"][1] == "9"  # its tickets opened in the period, as before
    by_agent = {row[0]: row[-3:] for row in csv_rows(client, "agent")[1:]}
    assert by_agent == {"Laia Serra": ["9", "5", "64.3"], "Jordi Casals": ["6", "2", "75.0"]}
    by_category = {row[0]: row[-3:] for row in csv_rows(client, "category")[1:]}
    assert by_category["Technical incident"] == ["11", "4", "73.3"]
    by_month = {row[0]: row[-3:] for row in csv_rows(client, "month")[1:]}
    assert by_month == {"2026-10": ["5", "3", "62.5"], "2026-11": ["10", "4", "71.4"]}


def test_a_group_rated_in_the_period_with_no_ticket_opened_in_it_has_its_own_row(app, client, rated):
    """A ticket opened on 3 December and rated on the 4th: from the 4th, the report has its rating, no SLA figures."""
    client.login("laia@diba.cat", factories.PASSWORD)
    response = client.get("/reports/sla.csv?from=2026-12-04&to=2026-12-31&group=month")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff"))))
    assert rows[1][:2] == ["2026-12", "0"] and rows[1][2:-3] == [""] * 8 and rows[1][-3:] == ["0", "1", "0.0"]


def test_the_last_days_a_date_can_name_give_an_empty_report_not_an_error(app, client, rated):
    client.login("laia@diba.cat", factories.PASSWORD)
    for path in ("/reports/sla", "/reports/sla.csv"):
        response = client.get(f"{path}?from=9999-12-30&to=9999-12-31&group=agent")
        assert response.status_code == 200 and "Jordi Casals" not in response.get_data(as_text=True)
