"""Signing in with the council's Decidim, end to end against a Doorkeeper-like provider on loopback."""
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from helpdesk.auth.models import DecidimIdentity, Role, SignInEvent, SignInKind, User
from helpdesk.core.sealing import seal
from helpdesk.extensions import db
from tests import factories
from tests.instances.decidim_oauth import CLIENT_ID, CLIENT_SECRET, DecidimOAuth, Person
from tests.pages import text


@pytest.fixture
def provider():
    server = DecidimOAuth()
    yield server
    server.stop()


@pytest.fixture
def vic(app, provider):
    council = factories.council(name="Ajuntament de Vic")
    factories.contact(council, name="Marta Puigdollers", email="marta@vic.cat")
    instance = factories.instance(council)
    instance.base_url = provider.url  # plain http, allowed to this machine only
    instance.oauth_client_id = CLIENT_ID
    instance.oauth_client_secret_sealed = seal(CLIENT_SECRET, app.config["SECRET_KEY"])
    db.session.commit()
    return instance.id


def go_round(client, instance_id: int, tamper=None):
    """Leave for the platform, let it answer (as the browser follows its redirect), come back."""
    leaving = client.get(f"/login/decidim/{instance_id}")
    assert leaving.status_code == 302
    authorize = leaving.headers["Location"]
    answer = httpx.get(authorize, follow_redirects=False)
    if answer.status_code != 302:
        return answer, None
    back = urlsplit(answer.headers["Location"])
    query = {key: values[0] for key, values in parse_qs(back.query).items()}
    if tamper:
        query = tamper(query)
    return client.get(back.path, query_string=query), query


def users() -> int:
    return db.session.scalar(select(func.count(User.id)))


def test_a_council_contact_signs_in_with_pkce_and_gets_a_linked_account(client, app, provider, vic):
    response, _ = go_round(client, vic)
    assert response.status_code == 302
    asked = provider.authorize_requests[0]
    assert asked["code_challenge_method"] == "S256" and asked["state"] and asked["scope"] == "public"
    assert provider.token_requests[0]["code_verifier"]  # the verifier travels only in the back channel
    assert asked["redirect_uri"].endswith("/login/decidim/callback")
    user = db.session.scalar(select(User).where(User.email == "marta@vic.cat"))
    assert user.role is Role.COUNCIL_USER and user.name == "Marta Puigdollers" and not user.has_password
    identity = db.session.scalar(select(DecidimIdentity))
    assert (identity.user_id, identity.subject, identity.nickname) == (user.id, "41", "mpuig")
    assert client.get("/account").status_code == 200
    event = db.session.scalar(select(SignInEvent).where(SignInEvent.kind == SignInKind.SIGNED_IN))
    assert event.method == "decidim"
    # a second time, the same account and identity
    again = app.test_client()
    assert go_round(again, vic)[0].status_code == 302
    assert users() == 1 and db.session.scalar(select(func.count(DecidimIdentity.id))) == 1


def test_a_wrong_state_is_refused_and_nothing_is_created(client, app, provider, vic):
    response, _ = go_round(client, vic, tamper=lambda query: {**query, "state": "forged"})
    assert response.status_code == 400
    assert "no s'ha pogut comprovar" in text(response)
    assert users() == 0 and provider.token_requests == []  # the code was never traded
    assert client.get("/account").status_code == 302
    assert db.session.scalar(select(SignInEvent).where(SignInEvent.kind == SignInKind.DECIDIM_REFUSED))


def test_a_code_used_twice_is_refused(client, app, provider, vic):
    response, query = go_round(client, vic)
    assert response.status_code == 302
    replay = app.test_client()
    replay.get(f"/login/decidim/{vic}")  # its own attempt, so that only the code is wrong
    with replay.session_transaction() as session:
        state = session["decidim_sign_in"]["state"]
    refused = replay.get("/login/decidim/callback", query_string={"code": query["code"], "state": state})
    assert refused.status_code == 400 and "La plataforma ha refusat l'inici de sessió" in text(refused)
    assert len(provider.token_requests) == 2  # the provider was asked, and said the code is spent
    assert replay.get("/account").status_code == 302


def test_an_address_of_another_council_is_refused(client, app, provider, vic):
    other = factories.council(name="Ajuntament de Manresa")
    factories.contact(other, name="Pere Soler", email="pere@manresa.cat")
    provider.person = Person(77, "pere@manresa.cat", "Pere Soler", "psoler")
    response, _ = go_round(client, vic)
    assert response.status_code == 400
    assert "pere@manresa.cat no és un contacte de l'ens Ajuntament de Vic" in text(response)
    assert users() == 0 and db.session.scalar(select(DecidimIdentity)) is None
    event = db.session.scalar(select(SignInEvent).where(SignInEvent.kind == SignInKind.DECIDIM_REFUSED))
    assert event.email == "pere@manresa.cat"


def test_a_staff_account_cannot_come_in_through_a_platform(client, app, provider, vic):
    factories.user(Role.AGENT, email="marta@vic.cat")  # same address, but an agent's account
    response, _ = go_round(client, vic)
    assert response.status_code == 400 and "inicieu la sessió amb el correu i la contrasenya" in text(response)
    assert db.session.scalar(select(DecidimIdentity)) is None


def test_a_platform_that_is_down_gives_a_clear_refusal(client, app, provider, vic):
    leaving = client.get(f"/login/decidim/{vic}")
    answer = httpx.get(leaving.headers["Location"], follow_redirects=False)
    back = urlsplit(answer.headers["Location"])
    provider.is_down = True  # down between the person's approval and the desk's call for the token
    response = client.get(back.path, query_string=back.query)
    assert response.status_code == 400
    assert "La plataforma de l'ens no respon" in text(response)
    assert users() == 0


def test_the_sign_in_page_offers_only_platforms_with_an_oauth_application(client, app, provider, vic):
    assert "Inicieu la sessió amb la plataforma del vostre ens" in text(client.get("/login"))
    page = text(client.get("/login/decidim"))
    assert "Ajuntament de Vic" in page
    factories.instance(factories.council(name="Ajuntament de Berga"))  # no OAuth application
    assert "Ajuntament de Berga" not in text(client.get("/login/decidim"))


def test_second_factor_is_asked_after_the_platform_when_the_person_has_one(client, app, provider, vic):
    import pyotp

    from helpdesk.auth import second_factor
    from helpdesk.core.models import utcnow
    go_round(app.test_client(), vic)
    user = db.session.scalar(select(User).where(User.email == "marta@vic.cat"))
    secret = pyotp.random_base32()
    second_factor.enrol(user, secret, pyotp.TOTP(secret).now(), utcnow(), app.config["SECRET_KEY"])
    db.session.commit()
    response, _ = go_round(client, vic)
    assert response.headers["Location"] == "/login/code"
    assert client.get("/account").status_code == 302


def test_in_the_browser_a_contact_signs_in_through_the_platform(app, provider, vic, live_server, browser, tmp_path):
    from playwright.sync_api import expect
    app.config["BASE_URL"] = live_server  # where the platform sends the person back
    page = browser.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_role("link", name="Inicieu la sessió amb la plataforma del vostre ens (Decidim)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Inicieu la sessió amb la plataforma del vostre ens")
    page.get_by_role("link", name="Ajuntament de Vic").click()
    expect(page.get_by_role("button", name="Tanca la sessió")).to_be_visible()
    expect(page.get_by_role("link", name="Els nostres tiquets")).to_be_visible()  # a council user's desk
    page.screenshot(path=str(tmp_path / "decidim-sign-in.png"))
    # another person of another council is turned away with the reason
    provider.person = Person(90, "intrus@example.org", "Intrús", "intrus")
    other = browser.new_context().new_page()
    other.goto(f"{live_server}/login/decidim")
    other.get_by_role("link", name="Ajuntament de Vic").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("No s'ha pogut iniciar la sessió")
    expect(other.get_by_role("alert")).to_contain_text("intrus@example.org no és un contacte")
