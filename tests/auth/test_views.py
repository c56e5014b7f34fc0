import re

from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.extensions import db
from tests import factories
from tests.pages import error_after, text


def test_sign_in_and_out(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    response = client.login("agent@example.org", factories.PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert client.get("/councils").status_code == 200
    assert client.submit("/logout").headers["Location"] == "/login"
    assert client.get("/councils").status_code == 302


def test_sign_in_goes_back_to_the_page_asked_for_but_never_off_site(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    client.get("/login?next=/instances")
    response = client.submit("/login", {"email": "agent@example.org", "password": factories.PASSWORD,
                                        "next": "/instances"})
    assert response.headers["Location"] == "/instances"
    client.submit("/logout")
    response = client.submit("/login", {"email": "agent@example.org", "password": factories.PASSWORD,
                                        "next": "//evil.example/steal"})
    assert response.headers["Location"] == "/"


def test_wrong_password_shows_a_message_in_catalan(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    response = client.login("agent@example.org", "not-the-password")
    assert response.status_code == 401
    assert "El correu o la contrasenya no són correctes" in text(response)


def test_repeated_failures_throttle_the_account_with_a_clear_message(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    for _ in range(5):
        assert client.login("agent@example.org", "wrong-password").status_code == 401
    response = client.login("agent@example.org", factories.PASSWORD)
    assert response.status_code == 429
    assert "Massa intents fallits des d'aquesta adreça. Torneu-ho a provar d'aquí a 1 minut." in text(response)
    assert client.get("/councils").status_code == 302  # still signed out
    # the account's owner, elsewhere, is not locked out
    other = app.test_client()
    assert other.open("/login", environ_base={"REMOTE_ADDR": "192.0.2.77"}).status_code == 200
    response = other.post("/login", data={"csrf_token": other.csrf_token, "email": "agent@example.org",
                                          "password": factories.PASSWORD}, environ_base={"REMOTE_ADDR": "192.0.2.77"})
    assert response.status_code == 302


def test_a_form_without_its_csrf_token_is_rejected_and_changes_nothing(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    response = client.post("/login", data={"email": "agent@example.org", "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "testimoni de seguretat" in text(response)
    client.login("agent@example.org", factories.PASSWORD)
    response = client.post("/language", data={"language": "en"})
    assert response.status_code == 400
    assert db.session.scalar(select(User.language)) == "ca"


def test_session_cookie_is_http_only_and_same_site(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    response = client.login("agent@example.org", factories.PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_interface_is_catalan_by_default_and_the_picker_changes_it(client, app):
    assert "Inicia la sessió" in text(client.get("/login"))
    client.submit("/language", {"language": "es", "next": "/login"})
    assert "Iniciar sesión" in text(client.get("/login"))
    factories.user(Role.AGENT, email="agent@example.org", language="ca")
    client.login("agent@example.org", factories.PASSWORD)
    assert "Ens locals" in text(client.get("/councils"))  # the user's own preference
    client.submit("/language", {"language": "en", "next": "/councils"})
    assert "<h1>Councils</h1>" in text(client.get("/councils"))
    assert db.session.scalar(select(User.language)) == "en"  # remembered for next time


def test_changing_ones_password_keeps_this_session_and_ends_the_others(app):
    factories.user(Role.AGENT, email="agent@example.org")
    here, elsewhere = app.test_client(), app.test_client()
    here.login("agent@example.org", factories.PASSWORD)
    elsewhere.login("agent@example.org", factories.PASSWORD)
    here.get("/account")
    response = here.submit("/account", {"password-current_password": "wrong", "password-password": "New-Password-42",
                                        "password-confirm": "New-Password-42", "password-save": "1"})
    assert error_after(text(response), "password-current_password") == \
        "La contrasenya actual no és correcta."
    response = here.submit("/account", {"password-current_password": factories.PASSWORD,
                                        "password-password": "New-Password-42", "password-confirm": "New-Password-42",
                                        "password-save": "1"})
    assert response.status_code == 302
    assert here.get("/councils").status_code == 200
    assert elsewhere.get("/councils").status_code == 302
    assert app.test_client().login("agent@example.org", "New-Password-42").status_code == 302


def test_admin_creates_a_council_user_and_errors_appear_next_to_their_field(client, app):
    factories.user(Role.ADMIN, email="admin@example.org")
    vic_id = factories.council(name="Ajuntament de Vic").id
    client.login("admin@example.org", factories.PASSWORD)
    client.get("/admin/users/new")
    form = {"email": "referent@vic.cat", "name": "Marta", "role": "council_user", "council_id": "",
            "language": "ca", "is_active": "y", "password": "Vic-Password-1", "confirm": "Vic-Password-1"}
    response = client.submit("/admin/users/new", form)
    assert response.status_code == 200
    assert error_after(text(response), "council_id") == "Un usuari d'ens ha de pertànyer a un ens."
    assert db.session.scalar(select(User).where(User.email == "referent@vic.cat")) is None
    response = client.submit("/admin/users/new", {**form, "council_id": str(vic_id)})
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "referent@vic.cat"))
    assert user.role is Role.COUNCIL_USER and user.council_id == vic_id
    page = text(client.get(response.headers["Location"]))
    assert "ha creat el registre" in page  # the audit trail on the user's page
    assert app.test_client().login("referent@vic.cat", "Vic-Password-1").headers["Location"] == "/"


def test_admin_deactivating_a_user_ends_their_sessions(app):
    factories.user(Role.ADMIN, email="admin@example.org")
    factories.user(Role.AGENT, email="agent@example.org")
    admin, agent = app.test_client(), app.test_client()
    admin.login("admin@example.org", factories.PASSWORD)
    agent.login("agent@example.org", factories.PASSWORD)
    user_id = db.session.scalar(select(User.id).where(User.email == "agent@example.org"))
    admin.get(f"/admin/users/{user_id}")
    response = admin.submit(f"/admin/users/{user_id}", {"email": "agent@example.org", "name": "Agent",
                                                       "role": "agent", "council_id": "", "language": "ca"})
    assert response.status_code == 302
    assert agent.get("/councils").status_code == 302


def test_form_validation_messages_are_translated_too(client, app):
    client.get("/login")
    response = client.submit("/login", {"email": "", "password": ""})
    assert error_after(text(response), "email") == "Aquest camp és obligatori."


def test_the_sign_in_page_puts_the_cursor_in_the_e_mail_field(client, app):
    page = client.get("/login").get_data(as_text=True)
    focused = re.findall(r"<input[^>]*\bautofocus\b[^>]*>", page)
    assert len(focused) == 1 and 'name="email"' in focused[0]
    again = client.submit("/login", {"email": "nobody@example.org", "password": "wrong"}).get_data(as_text=True)
    assert re.search(r'<input[^>]*name="email"[^>]*\bautofocus\b|<input[^>]*\bautofocus\b[^>]*name="email"', again)
