"""The renewal dossier as its readers see it: the figures of a chosen grant period, the PDF read back, who may open
whose, a council with nothing yet, a period typed wrong, and a server without WeasyPrint's libraries."""
from __future__ import annotations

import io
import re
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.catalog.models import Grant
from helpdesk.councils.models import Council
from helpdesk.dossier import pdf
from helpdesk.dossier.models import InstanceVersion
from helpdesk.extensions import db
from helpdesk.tickets.services import TicketData, add_message, open_ticket
from helpdesk.tickets.states import Category, Channel, MessageKind
from tests import factories
from tests.dossier.conftest import PERIOD, instance_of, madrid
from tests.pages import error_after, text

CHOSEN = f"from={PERIOD[0].isoformat()}&to={PERIOD[1].isoformat()}"


def flat(response) -> str:
    """The page's text with its whitespace folded, and none between tags (table cells read one after another)."""
    return re.sub(r">\s+<", "><", " ".join(text(response).split()))


def sla_rows(page: str, heading: str) -> str:
    """The text of the SLA table under the ``heading`` (a year of the period, or the whole of it)."""
    start = page.index(heading)
    return page[start:page.index("</table>", start)]


def test_the_dossier_shows_a_grant_period_year_by_year(manager_client, history):
    response = manager_client.get(f"/dossier/councils/{history.council_id}?{CHOSEN}")
    assert response.status_code == 200
    page = flat(response)
    assert "Renewal dossier: Ajuntament de Vic" in page
    assert "Period: February 12, 2024 – February 11, 2026" in page
    # The grant, its three periods and the requests that gave them.
    assert "2 renewals" in page
    for start, end in (("February 12, 2022", "February 12, 2024"), ("February 12, 2024", "February 12, 2026"),
                       ("February 12, 2026", "February 12, 2028")):
        assert f"<td>{start}</td><td>{end}</td>" in page
    assert "Initial grant" in page and "Renewal 2" in page and "Consulta sobre la rambla" in page
    # Tickets by category, year by year: met and breached on each clock; the other council's and 2023's left out.
    year1 = sla_rows(page, "Year 1: February 12, 2024 – February 11, 2025")
    assert "<td>Technical incident</td><td>2</td>" in year1
    assert year1.count('<span class="muted small">(50 %)</span>') == 2  # first response and resolution
    assert "<td>Usage question</td><td>1</td>" in year1
    year2 = sla_rows(page, "Year 2: February 12, 2025 – February 11, 2026")
    assert "<td>Configuration question</td><td>1</td><td>0 <span class=\"muted small\">(0 %)</span></td><td>1</td>" \
        in year2
    assert "<td>Technical incident</td><td>1</td><td>1 <span class=\"muted small\">(100 %)</span></td><td>0</td>" \
        in year2
    whole = sla_rows(page, "Whole period: February 12, 2024 – February 11, 2026")
    assert "<td>Technical incident</td><td>3</td><td>2 <span class=\"muted small\">(66.7 %)</span></td><td>1</td>" \
        in whole
    # Availability per month; outages; sessions held (not the cancelled or planned ones); satisfaction.
    assert "<td>March 2025</td><td>98.39 %</td><td>8928</td>" in page
    assert "<td>April 2025</td><td>100 %</td><td>8640</td>" in page
    assert "May 2023" not in page
    assert "<dt>Outages</dt><dd>2</dd>" in page
    assert "<dt>Total length</dt><dd>2 h 30 min</dd>" in page and "<dt>Longest</dt><dd>2 h</dd>" in page
    assert "<td>Design adaptation</td><td>2</td><td>3 h</td>" in page
    assert "<td>Feature configuration</td><td>1</td><td>1 h</td>" in page
    assert "Follow-up" not in page
    assert "75 % of the ratings were good: 3 good, 1 not good." in page
    # Every version the platform ran, the one it runs now marked.
    assert "Decidim 0.27.4</td>" in page and 'Decidim 0.28.5 <span class="badge">now</span>' in page


def test_the_default_period_is_the_grant_period_under_way(manager_client, history):
    page = flat(manager_client.get(f"/dossier/councils/{history.council_id}"))
    today = date.today()
    if date(2026, 2, 12) <= today < date(2028, 2, 12):
        assert "Period: February 12, 2026 – " in page
    assert 'aria-current="true">2/12/2026 – 2/12/2028</a>' in page or today >= date(2028, 2, 12)


def test_the_pdf_holds_the_council_its_periods_compliance_and_versions(manager_client, history):
    response = manager_client.get(f"/dossier/councils/{history.council_id}.pdf?{CHOSEN}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert 'filename="dossier-08298-2024-02-12-2026-02-11.pdf"' in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    words = " ".join(" ".join(page.extract_text().split()) for page in reader.pages)
    assert "Renewal dossier: Ajuntament de Vic" in words
    assert "February 12, 2024" in words and "February 12, 2026" in words
    assert "66.7 %" in words and "98.39 %" in words
    assert "Decidim 0.28.5" in words and "Decidim 0.27.4" in words
    assert "Ajuntament de Manlleu" not in words


def test_the_pdf_fetches_only_the_desks_static_files(app):
    found = pdf.static_file(pdf.BASE_URL + "static/dossier-print.css", app.static_folder, app.static_url_path)
    assert found is not None and found[1] == "text/css" and b"@page" in found[0]
    for url in ("https://example.org/tracker.png", pdf.BASE_URL + "static/../helpdesk/config.py",
                "file:///etc/passwd", pdf.BASE_URL + "other/desk.css"):
        assert pdf.static_file(url, app.static_folder, app.static_url_path) is None


def test_a_council_user_reads_its_own_dossier_only(client, history):
    client.login("referent@vic.cat", factories.PASSWORD)
    portal = text(client.get("/catalog/"))
    assert f'href="/dossier/councils/{history.council_id}"' in portal
    page = text(client.get(f"/dossier/councils/{history.council_id}?{CHOSEN}"))
    assert "Renewal dossier: Ajuntament de Vic" in page and "Technical incident" in page
    assert "Manlleu" not in page
    assert client.get(f"/dossier/councils/{history.council_id}.pdf?{CHOSEN}").status_code == 200
    assert client.get(f"/dossier/councils/{history.other_id}").status_code == 404
    assert client.get(f"/dossier/councils/{history.other_id}.pdf").status_code == 404
    assert client.get("/dossier/councils/999999").status_code == 404


@pytest.mark.parametrize("role", [Role.AGENT, Role.TECHNICIAN, Role.ADMIN])
def test_staff_read_any_councils_dossier_from_the_council_page(client, history, role):
    factories.user(role, email="staff@example.org", language="en")
    client.login("staff@example.org", factories.PASSWORD)
    council_page = text(client.get(f"/councils/{history.other_id}"))
    assert f'href="/dossier/councils/{history.other_id}">Renewal dossier</a>' in council_page
    assert client.get(f"/dossier/councils/{history.other_id}").status_code == 200


def test_otpgl_approvers_and_strangers_do_not(client, history):
    assert client.get(f"/dossier/councils/{history.council_id}").status_code == 302  # to the sign-in page
    factories.user(Role.OTPGL_APPROVER, email="otpgl@example.org", language="en")
    client.login("otpgl@example.org", factories.PASSWORD)
    assert "Renewal dossier" not in text(client.get(f"/councils/{history.council_id}"))
    assert client.get(f"/dossier/councils/{history.council_id}").status_code == 403
    assert client.get(f"/dossier/councils/{history.council_id}.pdf").status_code == 403


def test_a_council_with_nothing_yet_says_so(client, app):
    empty = factories.council("Ajuntament de Rupit i Pruit")
    empty_id = empty.id
    factories.user(Role.CATALOGUE_MANAGER, email="cataleg@example.org", language="en")
    client.login("cataleg@example.org", factories.PASSWORD)
    response = client.get(f"/dossier/councils/{empty_id}")
    assert response.status_code == 200
    page = text(response)
    assert "There is nothing in this dossier yet: Ajuntament de Rupit i Pruit has no grant" in page
    assert "No grant yet." in page and "No outage in this period." in page
    assert "This council has no platform instance yet." in page and "No Decidim version recorded yet." in page
    response = client.get(f"/dossier/councils/{empty_id}.pdf")
    assert response.status_code == 200
    words = " ".join(PdfReader(io.BytesIO(response.data)).pages[0].extract_text().split())
    assert "There is nothing in this dossier yet" in words


@pytest.mark.parametrize("query, field, message", [
    ("from=2025-13-01&to=2026-01-01", "from", "Write the day as YYYY-MM-DD, such as 2026-03-01."),
    ("from=2026-01-01&to=2025-01-01", "to", "The period ends before it starts."),
    ("from=2026-01-01", "to", "Give both days of the period, or neither."),
    ("from=1900-01-01&to=2026-01-01", "to", "A dossier covers at most 6 years."),
    # days no date arithmetic reaches past (the day after 9999-12-31), and years nobody means
    ("from=9999-12-30&to=9999-12-31", "from", "Give a date between 1900 and 2100."),
    ("from=2026-01-01&to=9999-12-31", "to", "Give a date between 1900 and 2100."),
    ("from=0001-01-01&to=0001-01-02", "from", "Give a date between 1900 and 2100."),
])
def test_a_period_typed_wrong_is_said_next_to_its_field(manager_client, history, query, field, message):
    for suffix in ("", ".pdf"):
        response = manager_client.get(f"/dossier/councils/{history.council_id}{suffix}?{query}")
        assert response.status_code == 422
        page = text(response)
        assert error_after(page, field) == message
        assert "The dossier below covers the grant period under way instead." in page


def test_without_weasyprint_the_page_says_so_instead_of_failing(manager_client, history, monkeypatch):
    def missing():
        raise OSError("cannot load library 'libpango-1.0-0'")
    monkeypatch.setattr(pdf, "_weasyprint", missing)
    response = manager_client.get(f"/dossier/councils/{history.council_id}.pdf")
    assert response.status_code == 503
    page = text(response)
    assert "The PDF cannot be made on this server: WeasyPrint or the system libraries it needs (Pango)" in page
    assert "Renewal dossier: Ajuntament de Vic" in page  # the dossier itself is still there


def test_every_ticket_counts_not_a_pages_worth(manager_client, history, app):
    agent = factories.user(Role.AGENT, email="agent2@example.org")
    count = 3 * app.config["PAGE_SIZE"] + 1
    for number in range(count):
        opened = madrid(date(2024, 5, 7)) + timedelta(minutes=number)
        ticket = open_ticket(None, TicketData(subject=f"Dubte {number}", body="b", channel=Channel.PHONE,
                                              category=Category.USAGE, council_id=history.council_id), opened)
        add_message(agent, ticket, MessageKind.REPLY, "r", opened + timedelta(minutes=20))
    db.session.commit()
    page = flat(manager_client.get(f"/dossier/councils/{history.council_id}?{CHOSEN}"))
    year1 = sla_rows(page, "Year 1: February 12, 2024 – February 11, 2025")
    assert f"<td>Usage question</td><td>{count + 1}</td><td>{count + 1} " in year1


def test_each_version_change_is_recorded_once(app, history):
    instance = instance_of(history)
    before = db.session.scalars(select(InstanceVersion.version).where(
        InstanceVersion.instance_id == instance.id).order_by(InstanceVersion.id)).all()
    assert before == ["0.27.4", "0.28.5"]
    instance.decidim_version = "0.28.5"  # the same again: nothing new
    db.session.commit()
    instance.decidim_version = ""  # not known any more (a refresh that could not tell): nothing either
    db.session.commit()
    instance.decidim_version = "0.29.1"
    db.session.commit()
    after = db.session.scalars(select(InstanceVersion.version).where(
        InstanceVersion.instance_id == instance.id).order_by(InstanceVersion.id)).all()
    assert after == ["0.27.4", "0.28.5", "0.29.1"]
    created = factories.instance(factories.council(), version="0.28.5")
    assert db.session.scalars(select(InstanceVersion.version).where(
        InstanceVersion.instance_id == created.id)).all() == ["0.28.5"]


class Watcher(BaseHTTPRequestHandler):
    """A web server on loopback that notes every request: the PDF must make none."""

    asked: list[str] = []

    def do_GET(self):
        Watcher.asked.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "text/css")
        self.end_headers()
        self.wfile.write(b"body { background: red }")

    def log_message(self, *args):
        pass


def test_markup_in_a_council_name_or_a_project_title_is_text_and_fetches_nothing(manager_client, history):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Watcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        here = f"http://127.0.0.1:{server.server_port}"
        council = db.session.get(Council, history.council_id)
        council.name = f'Vic <img src="{here}/name.png"><b>bold</b>'
        grant = db.session.get(Grant, history.grant_id)
        grant.request.project_title = f'Pressupostos <link rel="stylesheet" href="{here}/title.css">'
        db.session.commit()
        page = manager_client.get(f"/dossier/councils/{history.council_id}?{CHOSEN}").get_data(as_text=True)
        assert f"Vic &lt;img src=&#34;{here}/name.png&#34;&gt;&lt;b&gt;bold&lt;/b&gt;" in page
        assert "<b>bold</b>" not in page and f'<link rel="stylesheet" href="{here}' not in page
        response = manager_client.get(f"/dossier/councils/{history.council_id}.pdf?{CHOSEN}")
        assert response.status_code == 200
        # read as text (the PDF's lines break inside the addresses)
        words = "".join("".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(response.data)).pages)
        assert f'Vic<imgsrc="{here}/name.png"><b>bold</b>' in words
        assert f'Pressupostos<linkrel="stylesheet"href="{here}/title.css">' in words
        # and were markup ever to pass, the PDF's fetcher would still call nobody
        pdf.render(f'<link rel="stylesheet" href="{here}/direct.css"><img src="{here}/direct.png">',
                   str(manager_client.application.static_folder), manager_client.application.static_url_path)
        assert Watcher.asked == []
    finally:
        server.shutdown()
        server.server_close()


def test_the_pdf_of_a_council_with_thousands_of_tickets_is_made(manager_client, history):
    agent = factories.user(Role.AGENT, email="agent2@example.org")
    for number in range(3000):
        opened = madrid(date(2024, 3, 1)) + timedelta(minutes=7 * number)
        ticket = open_ticket(None, TicketData(subject=f"Dubte {number}", body="b", channel=Channel.PHONE,
                                              category=list(Category)[number % len(Category)],
                                              council_id=history.council_id), opened)
        add_message(agent, ticket, MessageKind.REPLY, "r", opened + timedelta(minutes=20))
        if number % 500 == 499:
            db.session.commit()
    db.session.commit()
    response = manager_client.get(f"/dossier/councils/{history.council_id}.pdf?{CHOSEN}")
    assert response.status_code == 200
    words = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Renewal dossier: Ajuntament de Vic" in words and "Whole period: February 12, 2024" in words
