"""In a real headless Chromium: a council files a request for the platform, a catalogue manager grants it."""
import re
from datetime import date

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.catalog.models import CatalogCall, Grant
from helpdesk.extensions import db
from helpdesk.instances.states import InstanceStatus
from tests import factories

pytestmark = pytest.mark.browser


def sign_in(page, server, email):
    page.goto(f"{server}/login")
    page.get_by_label("Correu electrònic").fill(email)
    page.get_by_label("Contrasenya").fill(factories.PASSWORD)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.wait_for_load_state()


def test_a_council_files_a_request_that_a_manager_grants(app, live_server, browser, tmp_path):
    today = date.today()
    db.session.add(CatalogCall(year=today.year, opens_on=date(today.year, 1, 1), closes_on=date(today.year, 12, 31)))
    db.session.commit()
    vic = factories.council(name="Ajuntament de Vic")
    referent_id = factories.contact(vic, name="Marta Puigdollers", email="mpuigdollers@vic.cat", referent=True).id
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    factories.user(Role.CATALOGUE_MANAGER, email="cataleg@example.org")

    council = browser.new_context().new_page()
    sign_in(council, live_server, "referent@vic.cat")
    council.get_by_role("link", name="Catàleg de Serveis").click()
    council.get_by_role("link", name="Sol·licita la plataforma").click()
    council.get_by_label("Tipus de projecte").select_option("participatory_process")
    council.get_by_label("Títol del projecte").fill("Pressupostos participatius 2027")
    council.get_by_label("De què tracta el projecte").fill("Decidir 300.000 € d'inversions als barris.")
    council.get_by_label("Referent tècnic municipal").select_option(str(referent_id))
    council.get_by_label("Adreça que voleu per a una plataforma nova").fill("participa-vic.diba.cat")
    council.get_by_label("Acceptem el codi ètic i el contracte social de la plataforma").check()
    council.get_by_role("button", name="Presenta la sol·licitud").click()
    council.wait_for_url(re.compile(r".*/catalog/requests/\d+$"))
    assert council.locator(".heading .status").inner_text() == "Presentada"
    council.screenshot(path=str(tmp_path / "filed.png"), full_page=True)

    manager = browser.new_context().new_page()
    sign_in(manager, live_server, "cataleg@example.org")
    manager.get_by_role("link", name="Catàleg", exact=True).click()
    manager.get_by_role("link", name=re.compile(r"SC-\d{4}-0001")).click()
    manager.get_by_role("button", name="Comença la revisió").click()
    manager.wait_for_load_state()
    manager.get_by_label("Missatge a l'ens").fill("Benvinguts a Participa311!")
    manager.get_by_role("button", name="Concedeix la sol·licitud").click()
    manager.wait_for_load_state()
    assert manager.locator(".heading .status").inner_text() == "Concedida"
    manager.screenshot(path=str(tmp_path / "granted.png"), full_page=True)

    council.reload()
    assert council.locator(".heading .status").inner_text() == "Concedida"
    assert council.get_by_text("Benvinguts a Participa311!").is_visible()
    record = db.session.scalar(select(Grant))
    assert record.instance.base_url == "https://participa-vic.diba.cat"
    assert record.instance.status is InstanceStatus.PROVISIONING
