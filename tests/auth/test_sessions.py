"""Sessions on the server: a copied cookie dies with sign-out, staff sessions end when idle, each person sees
and ends their own."""
from datetime import timedelta

from sqlalchemy import select, update

from helpdesk.auth.models import Role, SessionEnd, UserSession
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from tests import factories
from tests.pages import text


def copy_cookie(source, target):
    cookie = source.get_cookie("helpdesk_session")
    target.set_cookie("helpdesk_session", cookie.value)


def test_signing_out_ends_the_session_even_for_a_copied_cookie(app):
    factories.user(Role.AGENT, email="agent@example.org")
    browser, thief = app.test_client(), app.test_client()
    browser.login("agent@example.org", factories.PASSWORD)
    copy_cookie(browser, thief)
    assert thief.get("/councils").status_code == 200  # the copy works while the session lives
    browser.get("/account")
    browser.submit("/logout")
    assert thief.get("/councils").status_code == 302  # and stops working at sign-out
    row = db.session.scalar(select(UserSession))
    assert row.end_reason is SessionEnd.SIGNED_OUT


def test_each_sign_in_gets_a_new_session_id(app):
    factories.user(Role.AGENT, email="agent@example.org")
    client = app.test_client()
    client.get("/login")
    before = client.get_cookie("helpdesk_session").value
    client.login("agent@example.org", factories.PASSWORD)
    first = client.get_cookie("helpdesk_session").value
    client.get("/account")
    client.submit("/logout")
    client.login("agent@example.org", factories.PASSWORD)
    assert len({before, first, client.get_cookie("helpdesk_session").value}) == 3
    assert len(db.session.scalars(select(UserSession.token_digest)).all()) == 2


def test_staff_sessions_end_after_thirty_idle_minutes_council_sessions_do_not(app):
    council = factories.council()
    factories.user(Role.AGENT, email="agent@example.org")
    factories.user(Role.COUNCIL_USER, of=council, email="referent@example.org")
    agent, referent = app.test_client(), app.test_client()
    agent.login("agent@example.org", factories.PASSWORD)
    referent.login("referent@example.org", factories.PASSWORD)
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    db.session.commit()
    assert agent.get("/councils").status_code == 302
    assert referent.get("/account").status_code == 200
    ended = db.session.scalar(select(UserSession).where(UserSession.end_reason.is_not(None)))
    assert ended.end_reason is SessionEnd.IDLE and ended.user.email == "agent@example.org"


def test_activity_keeps_a_staff_session_alive(app):
    factories.user(Role.AGENT, email="agent@example.org")
    agent = app.test_client()
    agent.login("agent@example.org", factories.PASSWORD)
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=29)))
    db.session.commit()
    assert agent.get("/councils").status_code == 200  # 29 idle minutes: still signed in, and the clock restarts
    assert utcnow() - db.session.scalar(select(UserSession.last_seen_at)) < timedelta(minutes=1)


def test_a_person_sees_their_sessions_and_ends_another(app):
    factories.user(Role.AGENT, email="agent@example.org")
    laptop, phone = app.test_client(), app.test_client()
    laptop.login("agent@example.org", factories.PASSWORD)
    phone.open("/login", headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Firefox/130.0"})
    phone.post("/login", data={"csrf_token": phone.csrf_token, "email": "agent@example.org",
                               "password": factories.PASSWORD},
               headers={"User-Agent": "Mozilla/5.0 (Linux; Android 14) Firefox/130.0"})
    page = text(laptop.get("/account"))
    assert "Firefox · Android" in page and "(aquesta)" in page
    phone_session = db.session.scalar(select(UserSession.id).where(UserSession.user_agent.contains("Android")))
    laptop.submit(f"/account/sessions/{phone_session}/end")
    assert phone.get("/councils").status_code == 302
    assert laptop.get("/councils").status_code == 200


def test_nobody_ends_another_persons_session(app):
    factories.user(Role.AGENT, email="agent@example.org")
    factories.user(Role.AGENT, email="other@example.org")
    mine, theirs = app.test_client(), app.test_client()
    mine.login("agent@example.org", factories.PASSWORD)
    theirs.login("other@example.org", factories.PASSWORD)
    their_session = db.session.scalar(select(UserSession.id).join(UserSession.user)
                                      .where(UserSession.user.has(email="other@example.org")))
    mine.get("/account")
    assert mine.submit(f"/account/sessions/{their_session}/end").status_code == 404
    assert theirs.get("/councils").status_code == 200


def test_the_previous_sign_in_is_shown_after_signing_in(app):
    factories.user(Role.AGENT, email="agent@example.org")
    first = app.test_client()
    first.open("/login", environ_base={"REMOTE_ADDR": "192.0.2.10"})
    first.post("/login", data={"csrf_token": first.csrf_token, "email": "agent@example.org",
                               "password": factories.PASSWORD}, environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert "Aquest és el vostre primer inici de sessió." in text(first.get("/account"))
    second = app.test_client()
    response = second.login("agent@example.org", factories.PASSWORD)
    assert "El vostre inici de sessió anterior:" in text(second.get(response.headers["Location"],
                                                                    follow_redirects=True))
    assert "192.0.2.10" in text(second.get("/account"))
