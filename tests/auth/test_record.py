"""The sign-in record: administrators filter and export it; it is kept for the retention period only."""
import csv
import io
from datetime import timedelta

from sqlalchemy import func, select

from helpdesk.auth.jobs import forget_old_sign_ins
from helpdesk.auth.models import Role, SignInEvent, SignInKind
from helpdesk.auth.record import Client, note
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from tests import factories
from tests.pages import text


def fill(count: int, now) -> None:
    for number in range(count):
        note(SignInKind.FAILED if number % 2 else SignInKind.SIGNED_IN, email=f"person{number % 3}@example.org",
             client=Client(f"192.0.2.{number % 5}", "Firefox"), now=now - timedelta(minutes=number))
    db.session.commit()


def test_administrators_filter_the_record_and_page_through_it(client, app):
    factories.user(Role.ADMIN, email="admin@example.org")
    fill(460, utcnow())
    client.login("admin@example.org", factories.PASSWORD)
    page = text(client.get("/admin/sign-ins?email=person1@example.org&kind=failed"))
    assert "person1@example.org" in page and "person2@example.org" not in page
    wanted = db.session.scalar(select(func.count(SignInEvent.id)).where(
        SignInEvent.email == "person1@example.org", SignInEvent.kind == SignInKind.FAILED))
    rows = 0
    for number in range(1, 5):  # four pages: 25, 25, 25 and 2
        rows += text(client.get(f"/admin/sign-ins?email=person1@example.org&kind=failed&page={number}")) \
            .count("<td>person1@example.org</td>")
    assert rows == wanted == 77
    bad = client.get("/admin/sign-ins?since=not-a-date")
    assert bad.status_code == 200  # a date that is not one is ignored with its message, never a server error


def test_the_record_is_exported_whole_as_safe_csv(client, app):
    factories.user(Role.ADMIN, email="admin@example.org")
    fill(120, utcnow() - timedelta(minutes=1))
    client.login("admin@example.org", factories.PASSWORD)
    note(SignInKind.FAILED, email="=cmd@example.org", client=Client("192.0.2.9", "=HYPERLINK()"))
    db.session.commit()
    response = client.get("/admin/sign-ins/export")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1 + 121 + 1  # the header, the lines filled, the admin's own sign-in
    assert ["'=cmd@example.org", "'=HYPERLINK()"] == [rows[1][2], rows[1][4]]  # newest first, kept as text
    only = client.get("/admin/sign-ins/export?kind=signed_in&email=person0@example.org")
    assert {row[2] for row in csv.reader(io.StringIO(only.get_data(as_text=True).lstrip("\ufeff")))} == \
        {"Correu electrònic", "person0@example.org"}


def test_only_administrators_see_the_record(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    assert client.get("/admin/sign-ins").status_code == 403
    assert client.get("/admin/sign-ins/export").status_code == 403


def test_lines_older_than_the_retention_period_are_forgotten(app):
    now = utcnow()
    note(SignInKind.SIGNED_IN, email="old@example.org", now=now - timedelta(days=731))
    note(SignInKind.SIGNED_IN, email="recent@example.org", now=now - timedelta(days=729))
    db.session.commit()
    assert forget_old_sign_ins(now) == 1
    assert db.session.scalars(select(SignInEvent.email)).all() == ["recent@example.org"]
