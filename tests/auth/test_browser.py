"""The account flows in a real headless Chromium (Debian's), in Catalan: an invitation accepted, a forgotten
password, a second factor set up and used (codes and recovery codes), and an administrator resetting it."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from helpdesk.auth import second_factor
from helpdesk.auth.models import Role, User
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from tests import factories

pytestmark = pytest.mark.browser

NEW = "Tres-Gats-Grisos-311"
STAFF_ROLES = "admin,agent,technician,catalogue_manager,otpgl_approver"
WRONG_SIGN_IN = "El correu o la contrasenya no són correctes, o el compte no està actiu."
WRONG_CODE = "Aquest codi no és correcte o ja s'ha utilitzat."
MUST_ENROL = "El vostre rol ha d'entrar amb un segon factor: configureu-lo per continuar."


def mail_to(address: str) -> list[str]:
    """The bodies of the mail queued for ``address``, oldest first."""
    bodies = db.session.scalars(select(OutboxMessage.body_text).where(OutboxMessage.to_addresses == address)
                                .order_by(OutboxMessage.id)).all()
    db.session.rollback()  # end the read: the server's threads write to the same database
    return list(bodies)


def link_in(body: str, live_server: str) -> str:
    """The link of a mail, on the server the browser talks to."""
    return live_server + re.search(r"https?://[^/\s]+(/\S+)", body).group(1)


def sign_in(page: Page, live_server: str, email: str, password: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Correu electrònic").fill(email)
    page.get_by_label("Contrasenya", exact=True).fill(password)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.wait_for_load_state()


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Tanca la sessió").click()
    expect(page.get_by_text("Heu tancat la sessió.")).to_be_visible()


def type_code(page: Page, code: str) -> None:
    page.get_by_label("Codi", exact=True).fill(code)
    page.get_by_role("button", name="Continua").click()
    page.wait_for_load_state()


def expect_signed_in(page: Page, name: str) -> None:
    expect(page.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Tanca la sessió")).to_be_visible()


def later_code(secret: str) -> str:
    """The code of the next time step: never the one already used, and within the drift the desk allows."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def not_a_code(secret: str) -> str:
    """Six digits that are none of the codes the desk could accept around now."""
    totp = pyotp.TOTP(secret)
    near = {totp.at(time.time() + offset) for offset in range(-90, 120, 30)}
    return next(f"{number:06d}" for number in range(1_000_000) if f"{number:06d}" not in near)


def enrolled(user: User, secret_key: str) -> str:
    """Turn ``user``'s second factor on, as the enrolment page does; the secret their app would hold."""
    secret = pyotp.random_base32()
    second_factor.enrol(user, secret, pyotp.TOTP(secret).now(), utcnow(), secret_key)
    db.session.commit()
    return secret


def test_an_administrator_invites_a_council_user_who_chooses_a_password_and_is_signed_in(
        app, live_server, browser):
    factories.council(name="Ajuntament de Vic")
    factories.council(name="Ajuntament de Manlleu")
    factories.user(Role.ADMIN, email="admin@example.org")

    admin = browser.new_page()
    sign_in(admin, live_server, "admin@example.org", factories.PASSWORD)
    admin.get_by_role("link", name="Usuaris", exact=True).click()
    admin.get_by_role("link", name="Convida", exact=True).click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Invitacions")
    admin.get_by_label("Correu electrònic").fill("marta@vic.cat")
    admin.get_by_label("Nom", exact=True).fill("Marta Puigdollers")
    admin.get_by_label("Rol", exact=True).select_option(label="Usuari/ària d'ens")
    admin.get_by_label("Ens", exact=True).select_option(label="Ajuntament de Vic")
    admin.get_by_role("button", name="Envia la invitació").click()
    expect(admin.get_by_text("S'ha enviat una invitació a marta@vic.cat.")).to_be_visible()
    pending = admin.locator("section", has=admin.get_by_role("heading", name="Invitacions pendents"))
    row = pending.locator("tbody tr", has_text="marta@vic.cat")
    expect(row).to_contain_text("Marta Puigdollers")
    expect(row).to_contain_text("Ajuntament de Vic")

    (invitation,) = mail_to("marta@vic.cat")
    person_context = browser.new_context()
    person = person_context.new_page()
    person.goto(link_in(invitation, live_server))
    expect(person.get_by_role("heading", level=1)).to_have_text("Trieu la vostra contrasenya")
    expect(person.get_by_text("Benvinguda o benvingut, Marta Puigdollers.")).to_be_visible()
    person.get_by_label("Contrasenya nova", exact=True).fill(NEW)
    person.get_by_label("Repetiu la contrasenya nova", exact=True).fill(NEW)
    person.get_by_role("button", name="Desa la contrasenya").click()
    expect_signed_in(person, "Marta Puigdollers")
    expect(person.get_by_text("S'ha desat la contrasenya.")).to_be_visible()
    expect(person.get_by_role("link", name="Els nostres tiquets")).to_be_visible()  # a council user's menu
    person_context.close()

    admin.reload()
    expect(pending.get_by_text("Cap invitació no espera resposta.")).to_be_visible()
    expect(pending.get_by_text("marta@vic.cat")).to_have_count(0)


def test_a_forgotten_password_is_replaced_from_the_mailed_link_and_the_old_one_stops_working(
        app, live_server, browser):
    factories.user(Role.AGENT, email="agent@example.org")

    page = browser.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Heu oblidat la contrasenya?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Contrasenya oblidada")
    for address in ("nobody@example.org", "agent@example.org"):  # the same answer, account or not
        page.get_by_label("Correu electrònic").fill(address)
        page.get_by_role("button", name="Envieu-me un enllaç").click()
        expect(page.get_by_text(f"Si {address} correspon a un compte, us hi arribarà un enllaç per triar una "
                                "contrasenya nova. Funciona un sol cop, durant 60 minuts.")).to_be_visible()
        expect(page.get_by_role("heading", level=1)).to_have_text("Inicia la sessió")
        if address == "nobody@example.org":
            page.get_by_role("link", name="Heu oblidat la contrasenya?").click()
    assert mail_to("nobody@example.org") == []

    (reset,) = mail_to("agent@example.org")
    page.goto(link_in(reset, live_server))
    expect(page.get_by_role("heading", level=1)).to_have_text("Trieu una contrasenya nova")
    page.get_by_label("Contrasenya nova", exact=True).fill("password1234")
    page.get_by_label("Repetiu la contrasenya nova", exact=True).fill("password1234")
    page.get_by_role("button", name="Desa la contrasenya").click()
    field = page.locator(".field", has=page.get_by_label("Contrasenya nova", exact=True))
    expect(field.locator(".error")).to_contain_text("Aquesta contrasenya és massa fàcil d'endevinar")
    expect(page.get_by_label("Contrasenya nova", exact=True)).to_have_attribute("aria-invalid", "true")

    page.get_by_label("Contrasenya nova", exact=True).fill(NEW)
    page.get_by_label("Repetiu la contrasenya nova", exact=True).fill(NEW)
    page.get_by_role("button", name="Desa la contrasenya").click()
    expect_signed_in(page, "agent user")
    expect(page.get_by_text("S'ha desat la contrasenya nova.", exact=False)).to_be_visible()

    sign_out(page)
    sign_in(page, live_server, "agent@example.org", factories.PASSWORD)
    expect(page.locator(".form-errors")).to_have_text(WRONG_SIGN_IN)
    sign_in(page, live_server, "agent@example.org", NEW)
    expect_signed_in(page, "agent user")


def test_staff_set_up_a_second_factor_then_sign_in_with_a_code_or_a_recovery_code_once(
        app, live_server, browser, tmp_path):
    app.config["SECOND_FACTOR_ROLES"] = STAFF_ROLES
    factories.user(Role.AGENT, email="agent@example.org")

    page = browser.new_page()
    sign_in(page, live_server, "agent@example.org", factories.PASSWORD)
    page.wait_for_url(f"{live_server}/account/second-factor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Configureu un segon factor")
    expect(page.get_by_text(MUST_ENROL)).to_be_visible()
    qr = page.get_by_role("img", name="Codi QR")
    expect(qr).to_be_visible()
    assert qr.get_attribute("src").startswith("data:image/png;base64,")
    assert qr.evaluate("img => img.complete && img.naturalWidth") > 0
    secret = page.locator("code.secret").inner_text().replace(" ", "")
    page.screenshot(path=str(tmp_path / "enrolment.png"), full_page=True)

    page.get_by_label("Codi de l'aplicació").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activa").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Codis de recuperació")
    expect(page.get_by_text("El segon factor està activat.")).to_be_visible()
    codes = page.locator("ul.recovery-codes li")
    expect(codes).to_have_count(10)
    recovery = codes.all_inner_texts()
    page.get_by_role("link", name="Ja els he desat").click()
    expect_signed_in(page, "agent user")
    sign_out(page)

    sign_in(page, live_server, "agent@example.org", factories.PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Segon factor")
    type_code(page, not_a_code(secret))
    field = page.locator(".field", has=page.get_by_label("Codi", exact=True))
    expect(field.locator(".error")).to_contain_text(WRONG_CODE)
    type_code(page, later_code(secret))
    expect_signed_in(page, "agent user")
    sign_out(page)

    sign_in(page, live_server, "agent@example.org", factories.PASSWORD)
    type_code(page, recovery[0])
    expect_signed_in(page, "agent user")
    sign_out(page)

    sign_in(page, live_server, "agent@example.org", factories.PASSWORD)
    type_code(page, recovery[0])
    expect(field.locator(".error")).to_contain_text(WRONG_CODE)
    expect(page.get_by_role("heading", level=1)).to_have_text("Segon factor")
    expect(page.get_by_role("button", name="Tanca la sessió")).to_have_count(0)


def test_an_administrator_resets_a_second_factor_which_ends_the_persons_session_and_they_enrol_again(
        app, live_server, browser):
    app.config["SECOND_FACTOR_ROLES"] = STAFF_ROLES
    admin_secret = enrolled(factories.user(Role.ADMIN, email="admin@example.org"), app.config["SECRET_KEY"])
    agent_secret = enrolled(factories.user(Role.AGENT, email="agent@example.org"), app.config["SECRET_KEY"])

    agent_context = browser.new_context()
    agent = agent_context.new_page()
    sign_in(agent, live_server, "agent@example.org", factories.PASSWORD)
    type_code(agent, later_code(agent_secret))
    expect_signed_in(agent, "agent user")

    admin = browser.new_page()
    sign_in(admin, live_server, "admin@example.org", factories.PASSWORD)
    type_code(admin, later_code(admin_secret))
    admin.get_by_role("link", name="Usuaris", exact=True).click()
    admin.get_by_role("link", name="agent user").click()
    expect(admin.get_by_role("heading", level=1)).to_have_text("agent user")
    admin.get_by_role("button", name="Restableix el segon factor").click()
    expect(admin.get_by_text("S'ha restablert el segon factor de agent@example.org: en configurarà un de nou en "
                             "el proper inici de sessió.")).to_be_visible()
    expect(admin.get_by_role("button", name="Restableix el segon factor")).to_have_count(0)

    agent.reload()
    assert agent.url.startswith(f"{live_server}/login")
    expect(agent.get_by_role("heading", level=1)).to_have_text("Inicia la sessió")
    sign_in(agent, live_server, "agent@example.org", factories.PASSWORD)
    agent.wait_for_url(f"{live_server}/account/second-factor")
    expect(agent.get_by_text(MUST_ENROL)).to_be_visible()
    secret = agent.locator("code.secret").inner_text().replace(" ", "")
    assert secret != agent_secret  # a new key for the new phone
    agent.get_by_label("Codi de l'aplicació").fill(pyotp.TOTP(secret).now())
    agent.get_by_role("button", name="Activa").click()
    expect(agent.get_by_text("El segon factor està activat.")).to_be_visible()
    agent_context.close()
