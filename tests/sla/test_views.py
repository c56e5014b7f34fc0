"""Administrators edit calendars, holidays and policies; bad input is refused next to its field."""
from datetime import date

from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.sla.models import Calendar, Holiday, SlaPolicy
from tests import factories
from tests.pages import error_after, text


def admin(client):
    factories.user(Role.ADMIN, email="admin@example.org")
    client.login("admin@example.org", factories.PASSWORD)


def support_hours():
    return db.session.scalar(select(Calendar).where(Calendar.name == "Horari de suport"))


def calendar_form(**changes):
    form = {"name": "Horari de suport", "timezone": "Europe/Madrid", "official_holidays": "ES-CT",
            **{f"day_{day}": "09:00-14:00, 15:00-17:00" for day in range(5)}, "day_5": "", "day_6": ""}
    form.update(changes)
    return {key: value for key, value in form.items() if value is not None}


def test_the_seeded_support_hours_calendar_lists_catalan_and_barcelona_holidays(client, app):
    admin(client)
    calendar_id = support_hours().id
    page = text(client.get(f"/admin/calendars/{calendar_id}"))
    assert 'value="09:00-14:00, 15:00-17:00"' in page
    assert "Sant Esteve" in page or "Cap d'Any" in page  # official, from the holidays package
    assert "La Mercè (Barcelona)" in page or "Segona Pasqua (Barcelona)" in page


def test_overlapping_or_reversed_hours_are_refused_next_to_the_day(client, app):
    admin(client)
    calendar_id = support_hours().id
    client.get(f"/admin/calendars/{calendar_id}")
    response = client.submit(f"/admin/calendars/{calendar_id}", calendar_form(day_2="09:00-14:00, 13:00-17:00"))
    assert response.status_code == 422
    assert error_after(text(response), "day_2") == "Dimecres: dos intervals d'obertura se superposen."
    response = client.submit(f"/admin/calendars/{calendar_id}", calendar_form(day_3="17:00-09:00"))
    assert error_after(text(response), "day_3") == "Dijous: un interval tanca abans d'obrir."
    response = client.submit(f"/admin/calendars/{calendar_id}", calendar_form(day_4="de 9 a 2"))
    assert error_after(text(response), "day_4") == "«de 9 a 2» no és un interval com ara 09:00-14:00."
    assert len(support_hours().intervals) == 10  # nothing changed


def test_a_calendar_in_use_needs_business_time_and_a_policy_needs_a_calendar_with_some(client, app):
    admin(client)
    calendar_id = support_hours().id
    client.get(f"/admin/calendars/{calendar_id}")
    empty = calendar_form(**{f"day_{day}": "" for day in range(5)})
    response = client.submit(f"/admin/calendars/{calendar_id}", empty)
    assert "la fan servir polítiques" in text(response) or "fan servir polítiques" in text(response)
    client.get("/admin/calendars/new")
    response = client.submit("/admin/calendars/new", calendar_form(name="Tancat", **{f"day_{d}": "" for d in range(5)}))
    assert response.status_code == 302
    closed_id = db.session.scalar(select(Calendar.id).where(Calendar.name == "Tancat"))
    client.get("/admin/sla-policies/new")
    response = client.submit("/admin/sla-policies/new", {"name": "Impossible", "category": "other", "priority": "low",
                                                         "calendar_id": str(closed_id), "first_response_minutes": "60",
                                                         "resolution_minutes": "120"})
    assert error_after(text(response), "calendar_id").startswith("El calendari «Tancat» no té cap hora laborable")
    response = client.submit("/admin/sla-policies/new", {"name": "Sense calendari", "category": "other",
                                                         "priority": "low", "calendar_id": "",
                                                         "first_response_minutes": "60", "resolution_minutes": "120"})
    assert error_after(text(response), "calendar_id") == "Trieu el calendari en què es compten els objectius."
    assert db.session.scalar(select(SlaPolicy).where(SlaPolicy.name.in_(["Impossible", "Sense calendari"]))) is None


def test_holidays_are_added_within_a_sensible_range_and_removed(client, app):
    admin(client)
    calendar_id = support_hours().id
    client.get(f"/admin/calendars/{calendar_id}")
    response = client.submit(f"/admin/calendars/{calendar_id}/holidays", {"holiday-day": "1999-05-11",
                                                                          "holiday-name": "Massa antic"})
    assert error_after(text(response), "holiday-day").startswith("1999-05-11 és fora dels anys")
    today = date.today()
    closure = date(today.year + 1, 8, 14)
    response = client.submit(f"/admin/calendars/{calendar_id}/holidays", {"holiday-day": closure.isoformat(),
                                                                          "holiday-name": "Tancament d'estiu"})
    assert response.status_code == 302
    holiday = db.session.scalar(select(Holiday).where(Holiday.name == "Tancament d'estiu"))
    assert holiday.day == closure
    assert "ha afegit un festiu" in text(client.get(f"/admin/calendars/{calendar_id}"))
    client.submit(f"/admin/holidays/{holiday.id}/remove")
    assert db.session.get(Holiday, holiday.id) is None


def test_policies_list_and_only_administrators(client, app):
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    assert client.get("/admin/sla-policies").status_code == 403
    assert client.get("/admin/calendars").status_code == 403
    other = app.test_client()
    admin(other)
    page = text(other.get("/admin/sla-policies"))
    assert "Caiguda" in page and "30 min" in page and "4 h" in page
