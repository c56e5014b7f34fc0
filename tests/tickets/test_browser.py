"""An agent's working loop in a real headless Chromium: a phone call becomes a ticket, a reply, resolved."""
import re

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.states import TicketStatus
from tests import factories

pytestmark = pytest.mark.browser


def test_an_agent_logs_a_call_that_becomes_a_ticket_replies_and_resolves_it(app, live_server, browser, tmp_path):
    vic = factories.council(name="Ajuntament de Vic", phones=["938 86 21 00"])
    factories.instance(vic, url="https://vic.participa311.diba.cat")
    factories.contact(vic, name="Marta Puigdollers", email="mpuigdollers@vic.cat", phone="938 86 21 15",
                      referent=True)
    factories.user(Role.AGENT, email="agent@example.org")

    page = browser.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Correu electrònic").fill("agent@example.org")
    page.get_by_label("Contrasenya").fill(factories.PASSWORD)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.get_by_role("link", name="Registra una trucada").first.click()

    page.get_by_label("Número de qui truca").fill("938 86 21 15")
    page.get_by_role("button", name="Marta Puigdollers · Ajuntament de Vic").click()  # the suggestion
    assert page.get_by_label("Nom de qui truca").input_value() == "Marta Puigdollers"
    page.get_by_label("Durada (minuts)").fill("6")
    page.get_by_label("Categoria").select_option("configuration")
    page.get_by_label("Resum").fill("Vol saber com canviar el logotip de la plataforma.")
    page.get_by_label("Assumpte del tiquet nou").fill("Canvi de logotip")
    page.get_by_role("button", name="Registra la trucada").click()

    page.wait_for_url(re.compile(r".*/tickets/\d+$"))
    assert page.get_by_role("heading", level=1).inner_text().endswith("Canvi de logotip")
    assert page.get_by_text("Vol saber com canviar el logotip de la plataforma.").is_visible()
    council_card = page.locator(".side-column section[aria-labelledby=council-title]")
    assert council_card.get_by_role("link", name="vic.participa311.diba.cat").is_visible()

    page.get_by_label("Resposta", exact=True).fill("Es canvia a Configuració > Aparença del tauler.")
    page.get_by_role("button", name="Envia la resposta").click()
    page.wait_for_load_state()
    assert page.get_by_text("Es canvia a Configuració > Aparença del tauler.").is_visible()

    page.locator("#fields-status").select_option("resolved")
    page.locator(".side-column").get_by_role("button", name="Desa").click()
    page.wait_for_load_state()
    assert page.locator(".heading .status").inner_text() == "Resolt"
    page.screenshot(path=str(tmp_path / "ticket.png"), full_page=True)

    ticket = db.session.scalar(select(Ticket))
    assert ticket.channel.value == "phone" and ticket.status is TicketStatus.RESOLVED
    assert ticket.requester_contact.name == "Marta Puigdollers" and ticket.first_response_at is not None
