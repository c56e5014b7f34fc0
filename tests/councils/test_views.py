from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.councils.models import Contact, Council
from helpdesk.extensions import db
from tests import factories
from tests.pages import error_after, text


def test_admin_creates_a_council_and_a_bad_field_keeps_everything_unsaved(client, app):
    factories.user(Role.ADMIN, email="admin@example.org")
    factories.council(name="Ajuntament de Vic", domains=["vic.cat"])
    client.login("admin@example.org", factories.PASSWORD)
    client.get("/councils/new")
    form = {"name": "Ajuntament de Manresa", "kind": "town_council", "ine_code": "08113",
            "email_domains": "ajmanresa.cat\nvic.cat", "phone_numbers": "938 78 23 00", "notes": ""}
    response = client.submit("/councils/new", form)
    assert error_after(text(response), "email_domains") == "El domini vic.cat ja pertany a Ajuntament de Vic."
    assert 'value="Ajuntament de Manresa"' in text(response)  # what was typed is kept
    assert db.session.scalar(select(Council).where(Council.ine_code == "08113")) is None
    response = client.submit("/councils/new", {**form, "email_domains": "ajmanresa.cat"})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Ajuntament de Manresa" in page and "938 78 23 00" in page and "ha creat el registre" in page


def test_council_list_searches_by_name_ine_code_and_domain(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    factories.council(name="Ajuntament de Vic", ine_code="08298", domains=["vic.cat"])
    factories.council(name="Ajuntament de Manresa", ine_code="08113", domains=["ajmanresa.cat"])
    client.login("agent@example.org", factories.PASSWORD)
    for query in ("vic", "08298", "vic.cat"):
        page = text(client.get(f"/councils?q={query}"))
        assert "Ajuntament de Vic" in page and "Ajuntament de Manresa" not in page, query


def test_council_user_adds_a_contact_and_makes_them_the_referent(client, app):
    vic = factories.council(name="Ajuntament de Vic")
    factories.contact(vic, name="Antiga Referent", referent=True)
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    vic_id = vic.id
    client.login("referent@vic.cat", factories.PASSWORD)
    client.get(f"/councils/{vic_id}/contacts/new")
    response = client.submit(f"/councils/{vic_id}/contacts/new", {"name": "Nova Referent", "phone": "12"})
    assert error_after(text(response), "phone") == "«12» no és un número de telèfon vàlid."
    response = client.submit(f"/councils/{vic_id}/contacts/new", {
        "name": "Nova Referent", "email": "nova@vic.cat", "phone": "938 86 21 99", "is_technical_referent": "y"})
    assert response.status_code == 302
    referents = db.session.scalars(select(Contact.name).where(Contact.is_technical_referent)).all()
    assert referents == ["Nova Referent"]
