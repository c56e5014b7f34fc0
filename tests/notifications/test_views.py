"""The bell, the list and its pages, marking read, the e-mail settings, the JSON for the live desk and the
mention completion, as a person uses them; each person sees only their own notifications."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.extensions import db
from helpdesk.notifications import services
from helpdesk.notifications.models import Notification, NotificationKind, NotificationPreference
from helpdesk.tickets.services import TicketData, assign, open_ticket
from helpdesk.tickets.states import Channel
from tests import factories

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)
MARTA, JORDI = "marta.puig@diba.cat", "jordi.serra@diba.cat"


@pytest.fixture
def marta(app):
    return factories.user(Role.AGENT, email=MARTA, language="en")


@pytest.fixture
def jordi(app):
    return factories.user(Role.AGENT, email=JORDI, language="en")


def signed_in(client, email):
    client.login(email, factories.PASSWORD)
    return client


def sign_out(client):
    client.get("/account")  # a page of this session, for the form's token
    assert client.submit("/logout").status_code == 302


def person(email):
    """The user as the database has them now (a request ends the test's session)."""
    return db.session.scalar(select(User).where(User.email == email))


def assigned(marta, jordi, count=1, subject="The logo does not show"):
    tickets = []
    for number in range(count):
        ticket = open_ticket(None, TicketData(subject=f"{subject} {number + 1}", body="Hello", channel=Channel.EMAIL),
                             NOW + timedelta(minutes=number))
        assign(marta, ticket, jordi.id, NOW + timedelta(minutes=number))
        tickets.append(ticket)
    db.session.commit()
    return [ticket.id for ticket in tickets]  # ids: each request has its own session


def bell(page: str) -> str:
    start = page.index("data-notification-count>") + len("data-notification-count>")
    return page[start:page.index("<", start)]


def test_the_bell_counts_unread_and_following_one_opens_its_ticket_and_marks_it_read(client, marta, jordi):
    [ticket_id] = assigned(marta, jordi)
    signed_in(client, JORDI)
    listing = client.get("/notifications").get_data(as_text=True)
    assert bell(listing) == "1" and f"agent user assigned #{ticket_id} to you" in listing
    notification = db.session.scalar(select(Notification))
    opened = client.get(f"/notifications/{notification.id}")
    assert opened.status_code == 302 and opened.headers["Location"] == f"/tickets/{ticket_id}"
    assert bell(client.get(f"/tickets/{ticket_id}").get_data(as_text=True)) == "0"


def test_the_count_is_one_query_on_the_index(app, marta, jordi):
    from sqlalchemy import text
    assigned(marta, jordi)
    statement = select(db.func.count(Notification.id)).where(services.own(jordi), Notification.read_at.is_(None))
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    else:
        # A table of a few rows is scanned whatever its indexes: forbid the scan to see which index serves it.
        db.session.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(row[0] for row in db.session.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_notifications_user_id_read_at_created_at" in plan


def test_a_list_of_more_than_three_pages_goes_newest_first_to_the_oldest(app, client, marta, jordi):
    size = app.config["PAGE_SIZE"]
    people = [jordi]
    for number in range(3 * size + 2):
        services.notify(people, NotificationKind.MENTIONED, ticket=None, actor=marta, summary=f"note {number:03d}",
                        url="/tickets", now=NOW + timedelta(minutes=number))
    db.session.commit()
    signed_in(client, JORDI)
    first = client.get("/notifications").get_data(as_text=True)
    assert f"note {3 * size + 1:03d}" in first and "Page 1 of 4" in first and f"note {3 * size:03d}" in first
    last = client.get("/notifications?page=4").get_data(as_text=True)
    assert "note 000" in last and "note 001" in last and f"note {size:03d}" not in last
    assert "Page 4 of 4" in last and bell(last) == str(3 * size + 2)


def test_marking_one_and_then_all_read(client, marta, jordi):
    assigned(marta, jordi, count=3)
    signed_in(client, JORDI)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("Mark read") == 3
    first = db.session.scalars(select(Notification).order_by(Notification.id)).first()
    assert client.submit(f"/notifications/{first.id}/read", {"page": "1"}).status_code == 302
    assert bell(client.get("/notifications").get_data(as_text=True)) == "2"
    done = client.submit("/notifications/read", follow_redirects=True).get_data(as_text=True)
    assert "2 notifications marked read." in done and bell(done) == "0" and "Mark all read" not in done


def test_a_form_without_its_token_changes_nothing(client, marta, jordi):
    assigned(marta, jordi)
    signed_in(client, JORDI)
    assert client.post("/notifications/read").status_code == 400
    assert services.unread_count(person(JORDI)) == 1


def test_another_persons_notification_is_not_found(client, marta, jordi):
    assigned(marta, jordi)
    notification = db.session.scalar(select(Notification))
    signed_in(client, MARTA)
    assert client.get(f"/notifications/{notification.id}").status_code == 404
    client.get("/notifications")
    assert client.submit(f"/notifications/{notification.id}/read").status_code == 404
    assert client.get("/notifications/99999999999999").status_code == 404
    assert db.session.get(Notification, notification.id).read_at is None
    assert f"#{notification.ticket_id} to you" not in client.get("/notifications").get_data(as_text=True)


def test_the_unread_json_for_the_live_desk(client, marta, jordi):
    ids = assigned(marta, jordi, count=7)
    signed_in(client, JORDI)
    data = client.get("/notifications/unread.json").get_json()
    assert data["count"] == 7 and len(data["latest"]) == 5
    newest = data["latest"][0]
    assert newest["ticket_id"] == ids[-1] and newest["kind"] == "assigned" and newest["read"] is False
    assert newest["title"] == f"agent user assigned #{ids[-1]} to you"
    assert newest["target"] == f"/tickets/{ids[-1]}" and newest["url"].startswith("/notifications/")
    sign_out(client)
    assert signed_in(client, MARTA).get("/notifications/unread.json").get_json() == {"count": 0, "latest": []}


def test_settings_choose_the_kinds_that_come_by_email(client, jordi):
    signed_in(client, JORDI)
    page = client.get("/notifications/settings").get_data(as_text=True)
    assert "A ticket is assigned to me" in page and "An outage ticket is opened" in page
    assert 'type="checkbox"' in page and "checked" not in page
    saved = client.submit("/notifications/settings", {"by_email_assigned": "y", "by_email_mentioned": "y"},
                          follow_redirects=True).get_data(as_text=True)
    assert "Your notification settings have been saved." in saved
    assert services.emailed_kinds(person(JORDI)) == {NotificationKind.ASSIGNED, NotificationKind.MENTIONED}
    assert saved.count("checked") == 2
    client.submit("/notifications/settings", {"by_email_outage": "y"})
    assert services.emailed_kinds(person(JORDI)) == {NotificationKind.OUTAGE}
    assert db.session.scalar(select(db.func.count()).select_from(NotificationPreference)) == len(NotificationKind)


def test_mention_completion_is_for_staff_only(client, marta, jordi):
    vic = factories.council(name="Ajuntament de Vic")
    referent = factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    signed_in(client, MARTA)
    assert client.get("/notifications/people?q=jor").get_json() == [{"handle": "jordi.serra", "name": "agent user"}]
    assert client.get("/notifications/people?q=%00" + "x" * 500).status_code == 200
    sign_out(client)
    signed_in(client, "referent@vic.cat")
    for url in ("/notifications/people?q=jor", "/notifications", "/notifications/unread.json",
                "/notifications/settings"):
        assert client.get(url).status_code == 403, url
    assert "data-notification-count" not in client.get("/").get_data(as_text=True)


def test_signed_out_people_are_sent_to_sign_in(client):
    assert client.get("/notifications/unread.json").status_code in (302, 401)
