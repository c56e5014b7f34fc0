"""The administrators' privacy pages: what is held, the JSON download, the confirmed erasure."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.core.audit import AuditEvent
from helpdesk.councils.models import Contact
from helpdesk.extensions import db
from tests import factories
from tests.privacy.conftest import ANNA_EMAIL, ANNA_PHONE, rows_holding


@pytest.fixture
def admin_client(client, people):
    client.login(people.admin.email, factories.PASSWORD)
    return client


def test_the_contact_page_shows_what_is_held_and_downloads_it_as_json(admin_client, people):
    page = admin_client.get(f"/admin/privacy/contacts/{people.anna.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert ANNA_EMAIL in html and "csrf_token" in html
    response = admin_client.submit(f"/admin/privacy/contacts/{people.anna.id}/export")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.get_data(as_text=True))
    assert [ticket["number"] for ticket in data["tickets"]] == [people.anna_ticket.id]
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "personal_data_exported")) is not None


def test_erasing_needs_the_address_typed_and_then_pseudonymises(admin_client, people):
    url = f"/admin/privacy/contacts/{people.anna.id}"
    admin_client.get(url)
    wrong = admin_client.submit(f"{url}/erase", {"confirmation": "someone@else.org"})
    assert wrong.status_code == 400 and 'id="confirmation-error"' in wrong.get_data(as_text=True)
    assert db.session.get(Contact, people.anna.id).email == ANNA_EMAIL
    done = admin_client.submit(f"{url}/erase", {"confirmation": ANNA_EMAIL.upper()})
    assert done.status_code == 302
    assert rows_holding(ANNA_EMAIL, ANNA_PHONE) == []
    page = admin_client.get(url).get_data(as_text=True)
    assert "Persona " in page


def test_erasing_a_user_from_the_page_deactivates_it(admin_client, people):
    carla_id = factories.user(Role.COUNCIL_USER, of=people.council, email="carla@santprivat.cat").id
    admin_client.get(f"/admin/privacy/users/{carla_id}")
    response = admin_client.submit(f"/admin/privacy/users/{carla_id}/erase", {"confirmation": "carla@santprivat.cat"})
    assert response.status_code == 302
    assert not db.session.get(User, carla_id).is_active


def test_an_administrator_cannot_erase_themself_and_is_told_why(admin_client, people):
    admin = people.admin
    url, email = f"/admin/privacy/users/{admin.id}", admin.email
    admin_client.get(url)
    response = admin_client.submit(f"{url}/erase", {"confirmation": email})
    assert response.status_code == 400
    assert 'class="form-errors"' in response.get_data(as_text=True)
    assert people.admin.is_active


@pytest.mark.parametrize("role", [Role.AGENT, Role.COUNCIL_USER, Role.CATALOGUE_MANAGER])
def test_only_administrators_open_the_pages(client, people, role):
    someone = factories.user(role, of=people.council if role is Role.COUNCIL_USER else None).email
    client.login(someone, factories.PASSWORD)
    for url in (f"/admin/privacy/contacts/{people.anna.id}", f"/admin/privacy/users/{people.agent.id}"):
        assert client.get(url).status_code == 403
    assert client.submit(f"/admin/privacy/contacts/{people.anna.id}/export").status_code == 403
    assert client.submit(f"/admin/privacy/contacts/{people.anna.id}/erase",
                         {"confirmation": ANNA_EMAIL}).status_code == 403
    assert db.session.get(Contact, people.anna.id).email == ANNA_EMAIL


def test_unknown_ids_are_404(admin_client):
    for url in ("/admin/privacy/contacts/999999", "/admin/privacy/users/999999", "/admin/privacy/users/99999999999"):
        assert admin_client.get(url).status_code == 404
    assert admin_client.submit("/admin/privacy/contacts/999999/export").status_code == 404
