"""In a real headless Chromium: one agent assigns a ticket to another, whose bell shows 1 after a reload; the
list's link opens the ticket and the bell goes back to 0."""
import re

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.notifications.models import Notification, NotificationKind
from helpdesk.tickets.states import Channel
from tests import factories

pytestmark = pytest.mark.browser


def sign_in(browser, live_server, email):
    page = browser.new_context().new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Correu electrònic").fill(email)
    page.get_by_label("Contrasenya").fill(factories.PASSWORD)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.wait_for_load_state()
    return page


def test_an_assignment_rings_the_other_agents_bell_until_they_open_the_ticket(app, live_server, browser):
    vic = factories.council(name="Ajuntament de Vic")
    ticket = factories.ticket(subject="El logotip no surt", of=vic, channel=Channel.EMAIL)
    number = ticket.id
    factories.user(Role.AGENT, email="marta.puig@diba.cat")
    jordi = factories.user(Role.AGENT, email="jordi.serra@diba.cat")
    jordi.name = "Jordi Serra"
    db.session.commit()

    jordis = sign_in(browser, live_server, "jordi.serra@diba.cat")
    bell = jordis.locator("header [data-notification-bell]")
    assert bell.locator("[data-notification-count]").inner_text() == "0"

    martas = sign_in(browser, live_server, "marta.puig@diba.cat")
    martas.goto(f"{live_server}/tickets/{number}")
    martas.locator("#fields-assignee_id").select_option(label="Jordi Serra")
    martas.locator(".side-column").get_by_role("button", name="Desa").click()
    martas.wait_for_load_state()
    assert martas.locator("header [data-notification-count]").inner_text() == "0"  # not for her own action

    jordis.reload()
    assert bell.locator("[data-notification-count]").inner_text() == "1"
    bell.click()
    jordis.wait_for_url(re.compile(r".*/notifications$"))
    link = jordis.locator("ol.notifications li.unread a")  # its words are in the reader's language
    assert link.count() == 1 and f"#{number}" in link.inner_text()
    link.click()
    jordis.wait_for_url(re.compile(rf".*/tickets/{number}$"))
    assert jordis.get_by_role("heading", level=1).inner_text().endswith("El logotip no surt")
    assert bell.locator("[data-notification-count]").inner_text() == "0"


def test_typing_at_and_a_few_letters_in_a_note_completes_a_colleagues_handle(app, live_server, browser):
    ticket = factories.ticket(subject="Error 500", of=factories.council(name="Ajuntament de Berga"))
    number = ticket.id
    factories.user(Role.AGENT, email="marta.puig@diba.cat")
    jordi = factories.user(Role.TECHNICIAN, email="jordi.serra@diba.cat")
    jordi.name = "Jordi Serra"
    db.session.commit()

    page = sign_in(browser, live_server, "marta.puig@diba.cat")
    page.goto(f"{live_server}/tickets/{number}")
    page.locator("details.compose summary").first.click()
    note = page.locator("#note-body")
    note.click()
    note.press_sequentially("Pots mirar-ho, @jor")
    option = page.get_by_role("option", name="Jordi Serra (@jordi.serra)")
    option.wait_for()
    note.press("Enter")
    assert note.input_value() == "Pots mirar-ho, @jordi.serra "
    note.press_sequentially("?")
    page.locator("form[action$='/note']").get_by_role("button").last.click()
    page.wait_for_load_state()

    db.session.remove()
    [notification] = db.session.scalars(select(Notification)).all()
    assert notification.kind is NotificationKind.MENTIONED and notification.summary == "Pots mirar-ho, @jordi.serra ?"
