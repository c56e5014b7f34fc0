"""Accompaniment's screens: councils see only their own requests; the OTPGL queue; CSV; and a real browser
from request to authorisation to a booked session."""
import csv
import html
import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from helpdesk.accompaniment.models import AccompanimentRequest, AccompanimentSession
from helpdesk.auth.models import Role
from helpdesk.catalog.models import CatalogCall, Grant
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from tests import factories
from tests.accompaniment.test_services import asked
from tests.catalog.test_services import decided, filed


@pytest.fixture
def vic(app):
    council = factories.council("Ajuntament de Vic", "08298")
    today = date.today()
    db.session.add(CatalogCall(year=today.year, opens_on=date(today.year, 1, 1), closes_on=date(today.year, 12, 31)))
    db.session.commit()
    decided(filed(council, None, now=utcnow()), None, now=utcnow())
    return council


def test_councils_see_only_their_own_requests_and_the_queue_is_the_otpgls(client, app, vic):
    other = factories.council()
    theirs = asked(vic, None).id
    factories.user(Role.COUNCIL_USER, of=other, email="altre@example.org")
    client.login("altre@example.org", factories.PASSWORD)
    assert client.get(f"/accompaniment/requests/{theirs}").status_code == 404
    assert client.get(f"/accompaniment/requests/{theirs}/sessions/1.ics").status_code == 404
    assert client.get("/accompaniment/queue").status_code == 403
    assert client.get("/accompaniment/requests?format=csv").status_code == 403
    assert "Pressupostos" not in client.get("/accompaniment/").get_data(as_text=True)


def test_the_otpgl_queue_is_oldest_first_and_the_history_exports_csv(client, app, vic):
    vic_id = vic.id
    first = asked(vic, None, action="Primer").reference
    second = asked(vic, None, action="Segon").reference
    factories.user(Role.OTPGL_APPROVER, email="otpgl@example.org")
    client.login("otpgl@example.org", factories.PASSWORD)
    page = client.get("/accompaniment/queue").get_data(as_text=True)
    assert page.index(first) < page.index(second)
    csv_text = client.get(f"/accompaniment/requests?council={vic_id}&format=csv").get_data(as_text=True)
    for week in ("9999-W52", "0001-W01", "nonsense"):
        assert client.get(f"/accompaniment/sessions?week={week}").status_code == 200
    assert first in csv_text and "requested" in csv_text



def test_the_history_csv_keeps_what_councils_typed_as_text(client, app, vic):
    asked(vic, None, action='=HYPERLINK("https://x.example","Feu clic")', description="-2+3")
    factories.user(Role.OTPGL_APPROVER, email="otpgl@example.org")
    client.login("otpgl@example.org", factories.PASSWORD)
    response = client.get("/accompaniment/requests?format=csv")
    assert response.get_data(as_text=True).startswith("\ufeffreference,")  # UTF-8 for spreadsheets
    [row] = csv.DictReader(io.StringIO(response.get_data(as_text=True).removeprefix("\ufeff")))
    assert row["action"] == '\'=HYPERLINK("https://x.example","Feu clic")'
    assert (row["council"], row["sessions_held"]) == ("Ajuntament de Vic", "0")


@pytest.mark.browser
def test_a_council_asks_the_otpgl_authorises_and_an_adviser_books_a_session(app, live_server, browser, vic):
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    factories.user(Role.OTPGL_APPROVER, email="otpgl@example.org")
    factories.user(Role.AGENT, email="assessora@example.org")

    def sign_in(email):
        page = browser.new_context().new_page()
        page.goto(f"{live_server}/login")
        page.get_by_label("Correu electrònic").fill(email)
        page.get_by_label("Contrasenya").fill(factories.PASSWORD)
        page.get_by_role("button", name="Inicia la sessió").click()
        page.wait_for_load_state()
        return page

    council = sign_in("referent@vic.cat")
    council.get_by_role("link", name="Acompanyament").click()
    council.get_by_role("link", name="Demana acompanyament").click()
    council.get_by_label("L'acció que voleu dur a terme").fill("Pressupostos participatius 2027")
    council.get_by_label("Adaptar el disseny de l'acció a Participa311").check()
    council.get_by_label("Preferències de dies i hores").fill("Dimarts o dijous al matí")
    council.get_by_role("button", name="Envia la sol·licitud").click()
    council.wait_for_url(re.compile(r".*/accompaniment/requests/\d+$"))
    assert council.locator(".heading .status").inner_text() == "Pendent de valoració"

    otpgl = sign_in("otpgl@example.org")
    otpgl.get_by_role("link", name="Acompanyament").click()
    assert otpgl.get_by_role("heading", name="Pendent de valoració").is_visible()  # the queue
    otpgl.get_by_role("link", name=re.compile(r"AC-0001")).click()
    otpgl.get_by_label("Valoració", exact=True).fill("L'acció encaixa amb la plataforma.")
    otpgl.get_by_role("button", name="Autoritza").click()
    otpgl.wait_for_load_state()
    assert otpgl.locator(".heading .status").inner_text() == "Autoritzada"

    adviser = sign_in("assessora@example.org")
    request_id = db.session.scalar(select(AccompanimentRequest.id))
    adviser.goto(f"{live_server}/accompaniment/requests/{request_id}")
    day = date.today() + timedelta(days=7)
    adviser.get_by_label("Dia", exact=True).fill(day.isoformat())
    adviser.get_by_label("Hora", exact=True).fill("10:00")
    adviser.get_by_label("Enllaç o lloc").fill("https://meet.example.org/vic")
    adviser.get_by_label("Adreces de correu de les persones assistents").fill("referent@vic.cat")
    adviser.get_by_role("button", name="Reserva la sessió i envia les invitacions").click()
    adviser.wait_for_load_state()
    assert adviser.locator(".heading .status").inner_text() == "Programada"
    session = db.session.scalar(select(AccompanimentSession))
    assert session.attendees == ["referent@vic.cat"] and session.starts_at.date() == day

    council.reload()
    assert council.locator(".heading .status").inner_text() == "Programada"
    assert council.get_by_text("L'acció encaixa amb la plataforma.").is_visible()
    assert db.session.scalar(select(Grant.id)) is not None


def test_a_session_on_an_impossible_or_far_day_is_refused_next_to_the_day(client, app, vic):
    from tests.accompaniment.test_services import authorised
    request_id = authorised(vic).id
    adviser_id = factories.user(Role.AGENT, email="assessora@diba.cat").id
    client.login("assessora@diba.cat", factories.PASSWORD)
    client.get(f"/accompaniment/requests/{request_id}")
    booking = {"kind": "design", "time": "23:30", "duration_minutes": "480", "online": "y",
               "location": "https://meet.example.org/sessio", "adviser_id": str(adviser_id)}
    for day, message in (("9999-12-31", "Indiqueu una data entre 1900 i 2100."),  # the desk speaks Catalan
                         ("2026-02-30", "«2026-02-30» no és una data que existeixi.")):
        response = client.submit(f"/accompaniment/requests/{request_id}/sessions", {**booking, "day": day})
        assert response.status_code == 422
        page = response.get_data(as_text=True)
        error = re.search(r'id="[^"]*day-error">([^<]*)<', page)
        assert error and error.group(1).strip() == message
        assert f'value="{day}"' in page  # what was typed stays
    assert db.session.scalar(select(AccompanimentSession.id)) is None


def booking_form(page: str) -> tuple[str, str]:
    """The kind chosen and the attendees written in the page's booking form."""
    kinds = re.search(r'<select[^>]*name="kind"[^>]*>(.*?)</select>', page, re.S).group(1)
    chosen = re.search(r'<option(?=[^>]*\bselected\b)[^>]*value="([^"]+)"', kinds).group(1)
    attendees = re.search(r'<textarea[^>]*name="attendees"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    return chosen, html.unescape(attendees).strip()


def test_a_booking_starts_from_the_requests_kind_and_attendees_and_invites_them(client, app, vic):
    from helpdesk.accompaniment import services
    from helpdesk.core.outbox import OutboxMessage
    from tests.accompaniment.test_services import NOW
    request_id = asked(vic, factories.user(Role.COUNCIL_USER, of=vic), needs=["configuration", "follow_up"],
                       attendees="La tècnica (Marta.Puig@Vic.cat) i el regidor, jordi@vic.cat").id
    services.authorise(factories.user(Role.OTPGL_APPROVER), db.session.get(AccompanimentRequest, request_id),
                       "D'acord.", NOW)
    db.session.commit()
    adviser_id = factories.user(Role.AGENT, email="assessora@diba.cat").id
    client.login("assessora@diba.cat", factories.PASSWORD)
    kind, attendees = booking_form(client.get(f"/accompaniment/requests/{request_id}").get_data(as_text=True))
    assert kind == "configuration" and attendees.split() == ["marta.puig@vic.cat", "jordi@vic.cat"]
    day = (date.today() + timedelta(days=14)).isoformat()
    response = client.submit(f"/accompaniment/requests/{request_id}/sessions", {
        "kind": kind, "attendees": attendees, "day": day, "time": "10:00", "duration_minutes": "90", "online": "y",
        "location": "https://meet.example.org/vic", "adviser_id": str(adviser_id)})
    assert response.status_code == 302
    session = db.session.scalar(select(AccompanimentSession))
    assert session.kind.value == "configuration" and session.attendees == ["marta.puig@vic.cat", "jordi@vic.cat"]
    invited = {address for message in db.session.scalars(select(OutboxMessage))
               if any(item["filename"] == "invite.ics" for item in message.attachments)
               for address in message.to_addresses.split(", ")}
    assert invited == {"marta.puig@vic.cat", "jordi@vic.cat", "assessora@diba.cat"}
    # The next session goes on to what the council asked for and no session covers yet.
    kind, _attendees = booking_form(client.get(f"/accompaniment/requests/{request_id}").get_data(as_text=True))
    assert kind == "follow_up"


def test_when_the_council_named_no_addresses_the_person_who_asked_is_invited(client, app, vic):
    from helpdesk.accompaniment import services
    from tests.accompaniment.test_services import NOW
    asker = factories.user(Role.COUNCIL_USER, of=vic, email="tecnica@vic.cat")
    item = asked(vic, asker, needs=["design"], attendees="La tècnica i el regidor")
    services.authorise(factories.user(Role.OTPGL_APPROVER), item, "D'acord.", NOW)
    db.session.commit()
    request_id = item.id
    factories.user(Role.AGENT, email="assessora@diba.cat")
    client.login("assessora@diba.cat", factories.PASSWORD)
    page = client.get(f"/accompaniment/requests/{request_id}").get_data(as_text=True)
    assert booking_form(page) == ("design", "tecnica@vic.cat")
    assert "La tècnica i el regidor" in page  # the council's own words stay in view beside the form
