"""Policy names in Catalan, Spanish and English: each reader sees theirs (Catalan when it is not written),
administrators write the three, and the shipped policies have them from the start."""
import re

from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.sla.models import Calendar, SlaPolicy
from helpdesk.tickets.states import Category
from tests import factories
from tests.pages import error_after, text


def signed_in(app, language: str):
    client = app.test_client()
    email = f"admin-{language}@example.org"
    factories.user(Role.ADMIN, email=email, language=language)
    client.login(email, factories.PASSWORD)
    return client


def names_listed(page: str) -> list[str]:
    return re.findall(r'<a href="/admin/sla-policies/\d+">([^<]+)</a>', page)


def test_the_shipped_policies_are_named_in_the_readers_language(app):
    listed = {language: names_listed(text(signed_in(app, language).get("/admin/sla-policies")))
              for language in ("ca", "es", "en")}
    assert "Caiguda" in listed["ca"] and "Consulta d'ús" in listed["ca"] and "Per defecte" in listed["ca"]
    assert "Caída" in listed["es"] and "Consulta de uso" in listed["es"] and "Por defecto" in listed["es"]
    assert "Outage" in listed["en"] and "Usage question" in listed["en"] and "Default" in listed["en"]
    assert "Caiguda" not in listed["en"] and "Caiguda" not in listed["es"]


def test_the_language_picker_changes_the_names_shown(app):
    client = signed_in(app, "ca")
    assert "Incidència tècnica" in names_listed(text(client.get("/admin/sla-policies")))
    client.submit("/language", {"language": "en", "next": "/admin/sla-policies"})
    assert "Technical incident" in names_listed(text(client.get("/admin/sla-policies")))


def test_an_administrator_writes_the_three_names_and_an_empty_one_falls_back_to_catalan(app):
    client = signed_in(app, "ca")
    calendar_id = db.session.scalar(select(Calendar.id).where(Calendar.name == "Horari de suport"))
    client.get("/admin/sla-policies/new")
    response = client.submit("/admin/sla-policies/new", {
        "name": "Incidència urgent", "name_es": "Incidencia urgente", "name_en": "", "category": "incident",
        "priority": "urgent", "calendar_id": calendar_id, "first_response_minutes": 60, "resolution_minutes": 240})
    assert response.status_code == 302
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.priority == "urgent"))
    assert (policy.name, policy.name_es, policy.name_en) == ("Incidència urgent", "Incidencia urgente", "")
    policy_id = policy.id
    assert "Incidencia urgente" in names_listed(text(signed_in(app, "es").get("/admin/sla-policies")))
    assert "Incidència urgent" in names_listed(text(signed_in(app, "en").get("/admin/sla-policies")))
    form = text(client.get(f"/admin/sla-policies/{policy_id}"))
    assert 'value="Incidencia urgente"' in form and 'id="name_en"' in form


def test_a_name_too_long_is_refused_next_to_it_and_nothing_changes(app):
    client = signed_in(app, "en")
    policy = db.session.scalar(select(SlaPolicy).where(SlaPolicy.category == "outage"))
    policy_id, calendar_id = policy.id, policy.calendar_id
    client.get(f"/admin/sla-policies/{policy_id}")
    response = client.submit(f"/admin/sla-policies/{policy_id}", {
        "name": "Caiguda", "name_es": "Caída", "name_en": "x" * 121, "category": "outage", "priority": "",
        "calendar_id": calendar_id, "first_response_minutes": 30, "resolution_minutes": 240})
    assert response.status_code == 422 and "120" in error_after(text(response), "name_en")
    assert db.session.get(SlaPolicy, policy_id).name_en == "Outage"


def test_an_agent_sees_a_tickets_policy_in_their_language(app):
    factories.user(Role.AGENT, email="agent@example.org", language="en")
    number = factories.ticket(category=Category.INCIDENT, requester_email="tecnica@vic.cat").number
    client = app.test_client()
    client.login("agent@example.org", factories.PASSWORD)
    page = text(client.get(f"/tickets/{number}"))
    assert "Technical incident (Horari de suport)" in page
