"""TOTP second factor: required for staff roles by setting, codes used once, recovery codes, the admin's reset."""
import re
import time

import pyotp
import pytest
from sqlalchemy import select

from helpdesk import config
from helpdesk.auth.models import RecoveryCode, Role, SignInEvent, SignInKind, User
from helpdesk.core.audit import trail
from helpdesk.extensions import db
from tests import factories
from tests.pages import error_after, text

STAFF = "admin,agent,technician,catalogue_manager,otpgl_approver"


@pytest.fixture
def required(app):
    app.config["SECOND_FACTOR_ROLES"] = STAFF


def enrol(client) -> tuple[str, list[str]]:
    """Enrol through the page as a person would; the key and the recovery codes shown."""
    page = text(client.get("/account/second-factor"))
    secret = re.search(r'<code class="secret">([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    shown = text(client.submit("/account/second-factor", {"code": pyotp.TOTP(secret).now()}))
    return secret, re.findall(r"<li><code>([0-9a-f]{6}-[0-9a-f]{6})</code></li>", shown)


def later_code(secret: str) -> str:
    """A code of the next time step (within the drift allowed): the current one may be spent already."""
    return pyotp.TOTP(secret).at(time.time() + 30)


def test_by_default_every_staff_role_and_no_council_user_must_have_a_second_factor():
    roles = config.second_factor_roles(config.DEFAULTS)
    assert roles == {role.value for role in Role} - {"council_user"}


def test_a_wrong_setting_stops_start_up():
    with pytest.raises(config.ConfigError, match="SECOND_FACTOR_ROLES"):
        config.validate({**config.DEFAULTS, "SECRET_KEY": "x" * 20, "SECOND_FACTOR_ROLES": "agent,boss"})


def test_staff_without_a_second_factor_must_enrol_before_anything_else(client, app, required):
    factories.user(Role.AGENT, email="agent@example.org")
    response = client.login("agent@example.org", factories.PASSWORD)
    assert client.get(response.headers["Location"]).headers["Location"] == "/account/second-factor"
    assert client.get("/councils").headers["Location"] == "/account/second-factor"
    page = text(client.get("/account/second-factor"))
    assert "El vostre rol ha d'entrar amb un segon factor" in page
    assert 'src="data:image/png;base64,' in page
    wrong = client.submit("/account/second-factor", {"code": "000000"})
    assert error_after(text(wrong), "code") == "Aquest codi no és correcte. Escriviu les 6 xifres que mostra ara l'aplicació."
    secret, codes = enrol(client)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/councils").status_code == 200
    user = db.session.scalar(select(User).where(User.email == "agent@example.org"))
    assert user.has_second_factor and secret not in (user.totp_secret or "")  # kept sealed
    assert trail(user)[0].action == "second_factor_enrolled"


def test_a_council_user_may_sign_in_without_one(client, app, required):
    council = factories.council()
    factories.user(Role.COUNCIL_USER, of=council, email="referent@example.org")
    client.login("referent@example.org", factories.PASSWORD)
    assert client.get("/account").status_code == 200
    assert "Configureu un segon factor" in text(client.get("/account"))  # offered, not imposed


def test_signing_in_asks_for_the_code_and_never_accepts_one_twice(app, required):
    factories.user(Role.AGENT, email="agent@example.org")
    first = app.test_client()
    first.login("agent@example.org", factories.PASSWORD)
    secret, _ = enrol(first)
    client = app.test_client()
    response = client.login("agent@example.org", factories.PASSWORD)
    assert response.headers["Location"] == "/login/code"
    assert client.get("/councils").status_code == 302  # the password alone signs nobody in
    client.get("/login/code")
    wrong = client.submit("/login/code", {"code": "123456"})
    assert wrong.status_code == 401 and "Aquest codi no és correcte" in text(wrong)
    code = later_code(secret)
    assert client.submit("/login/code", {"code": code}).status_code == 302
    assert client.get("/councils").status_code == 200
    again = app.test_client()
    again.login("agent@example.org", factories.PASSWORD)
    again.get("/login/code")
    assert again.submit("/login/code", {"code": code}).status_code == 401  # the same code: refused
    failures = db.session.scalars(select(SignInEvent).where(SignInEvent.kind == SignInKind.SECOND_FACTOR_FAILED))
    assert len(failures.all()) == 2


def test_a_recovery_code_signs_in_once(app, required):
    factories.user(Role.AGENT, email="agent@example.org")
    first = app.test_client()
    first.login("agent@example.org", factories.PASSWORD)
    _, codes = enrol(first)
    for expected in (302, 401):
        client = app.test_client()
        client.login("agent@example.org", factories.PASSWORD)
        client.get("/login/code")
        assert client.submit("/login/code", {"code": codes[0].upper()}).status_code == expected
    assert db.session.scalar(select(SignInEvent).where(SignInEvent.kind == SignInKind.RECOVERY_CODE_USED))
    assert "Codis de recuperació que queden: 9" in text(first.get("/account"))


def test_wrong_codes_count_towards_throttling(app, required):
    factories.user(Role.AGENT, email="agent@example.org")
    first = app.test_client()
    first.login("agent@example.org", factories.PASSWORD)
    enrol(first)
    client = app.test_client()
    client.login("agent@example.org", factories.PASSWORD)
    client.get("/login/code")
    for _ in range(5):
        client.submit("/login/code", {"code": "000000"})
    assert client.login("agent@example.org", factories.PASSWORD).status_code == 429


def test_an_administrator_resets_a_lost_second_factor(app, required):
    admin = factories.user(Role.ADMIN, email="admin@example.org")
    factories.user(Role.AGENT, email="agent@example.org")
    admin_id = admin.id
    agent = app.test_client()
    agent.login("agent@example.org", factories.PASSWORD)
    enrol(agent)
    user_id = db.session.scalar(select(User.id).where(User.email == "agent@example.org"))
    # the administrator has a second factor too (required); set it up and use it
    boss = app.test_client()
    boss.login("admin@example.org", factories.PASSWORD)
    enrol(boss)
    assert "Restableix el segon factor" in text(boss.get(f"/admin/users/{user_id}"))
    boss.submit(f"/admin/users/{user_id}/second-factor/reset")
    assert agent.get("/councils").status_code == 302  # the person's sessions end
    user = db.session.get(User, user_id)
    assert not user.has_second_factor
    assert db.session.scalar(select(RecoveryCode).where(RecoveryCode.user_id == user_id)) is None
    event = trail(user)[0]
    assert event.action == "second_factor_reset" and event.actor_id == admin_id
    client = app.test_client()
    response = client.login("agent@example.org", factories.PASSWORD)  # no code asked: enrol again
    assert client.get(response.headers["Location"]).headers["Location"] == "/account/second-factor"


def test_the_demo_administrator_has_the_printed_second_factor(app, required):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    from helpdesk.demo import DEMO_TOTP_SECRET
    assert DEMO_TOTP_SECRET in result.output
    client = app.test_client()
    client.login("admin@demo.participa311.cat", "Admin-Demo-311")
    client.get("/login/code")
    assert client.submit("/login/code", {"code": later_code(DEMO_TOTP_SECRET)}).status_code == 302
    assert client.get("/admin/users").status_code == 200
