"""End to end in a real headless Chromium (Debian's), against the app served on loopback."""
import pytest

from helpdesk.auth.models import Role
from tests import factories

pytestmark = pytest.mark.browser


def test_an_agent_signs_in_switches_language_and_opens_a_council(app, live_server, browser, tmp_path):
    vic = factories.council(name="Ajuntament de Vic", domains=["vic.cat"], phones=["938 86 21 00"])
    factories.contact(vic, name="Marta Puigdollers", email="mpuigdollers@vic.cat", referent=True)
    factories.instance(vic, url="https://vic.participa311.diba.cat")
    factories.user(Role.AGENT, email="agent@example.org")

    page = browser.new_page()
    page.goto(f"{live_server}/councils")
    assert page.url.startswith(f"{live_server}/login")
    page.get_by_label("Correu electrònic").fill("agent@example.org")
    page.get_by_label("Contrasenya").fill(factories.PASSWORD)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.wait_for_url(f"{live_server}/councils")
    assert page.get_by_role("heading", level=1).inner_text() == "Ens locals"

    page.get_by_label("Idioma").select_option("en")
    page.get_by_role("button", name="Canvia").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", level=1).inner_text() == "Councils"

    page.get_by_role("searchbox").fill("vic")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("link", name="Ajuntament de Vic").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Ajuntament de Vic"
    assert page.get_by_text("Marta Puigdollers").is_visible()
    assert page.get_by_text("938 86 21 00").is_visible()
    assert page.get_by_role("link", name="vic.participa311.diba.cat").is_visible()
    page.screenshot(path=str(tmp_path / "council.png"), full_page=True)
