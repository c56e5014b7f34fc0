"""The council's status page (its own instances only, 90 days of availability, outages and maintenance, paged),
the technicians' maintenance screens, and a contact's own choice of notices."""
import re
from datetime import timedelta

from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.core.audit import AuditEvent
from helpdesk.core.models import utcnow
from helpdesk.councils.models import Contact
from helpdesk.extensions import db
from helpdesk.instances.maintenance import MaintenanceWindow
from helpdesk.councils.models import Council
from helpdesk.instances.models import HealthDay, Outage, PlatformInstance
from helpdesk.status.services import MaintenanceData, cancel_maintenance, schedule_maintenance
from tests import factories
from tests.pages import error_after, text


def plan(place, starts_at, hours=2, reason="Actualització de Decidim", actor=None):
    window = schedule_maintenance(actor, MaintenanceData(starts_at, starts_at + timedelta(hours=hours), reason,
                                                         (place.instance_id,)), min(starts_at, utcnow()))
    db.session.commit()
    return window.id


def test_a_council_user_sees_only_their_councils_platform(client, vic, manlleu, marta):
    client.login("mpuigdollers@vic.cat", factories.PASSWORD)
    response = client.get("/status")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/councils/{vic.id}/status")
    page = text(client.get(f"/councils/{vic.id}/status"))
    assert "vic.participa311.diba.cat" in page and "manlleu" not in page
    assert "Not checked yet" not in page and "Unknown" in page  # never checked: the monitor has not seen it yet
    assert client.get(f"/councils/{manlleu.id}/status").status_code == 404
    client.get(f"/councils/{vic.id}/status")
    assert client.submit(f"/councils/{manlleu.id}/status/notices", {}).status_code == 404
    assert client.get("/maintenance").status_code == 403
    # the portal and the menu lead there
    assert f'href="/councils/{vic.id}/status"' in text(client.get("/catalog/"))
    assert 'href="/status"' in text(client.get("/faq"))


def test_staff_open_any_councils_status_page(client, vic, manlleu):
    factories.user(Role.AGENT, email="agent@example.org", language="en")
    client.login("agent@example.org", factories.PASSWORD)
    assert "manlleu.participa311.diba.cat" in text(client.get(f"/councils/{manlleu.id}/status"))
    assert client.get("/status").headers["Location"].endswith("/instances/status")


def test_the_chart_shows_the_last_90_days_from_the_daily_sums(client, vic, marta):
    instance = db.session.get(PlatformInstance, vic.instance_id)
    today = utcnow().date()
    for days_ago, checks, up in ((0, 100, 100), (1, 100, 96), (89, 10, 10), (90, 10, 0)):
        db.session.add(HealthDay(instance_id=instance.id, day=today - timedelta(days=days_ago), checks=checks,
                                 up_checks=up, latency_ms_total=0))
    db.session.commit()
    client.login("mpuigdollers@vic.cat", factories.PASSWORD)
    page = text(client.get(f"/councils/{vic.id}/status"))
    bars = re.findall(r'<rect class="day-(\w+)"', page)
    assert len(bars) == 90  # the 91st day back is not shown
    assert bars[-1] == "good" and bars[-2] == "degraded" and bars[0] == "good"
    assert bars.count("none") == 87
    # the text alternative: the share over the days shown, and each day in a table
    assert "Availability over the last 90 days: 98.1 % of the checks answered." in page
    table = page.split("<tbody>")[1].split("</tbody>")[0]
    assert table.count("<tr>") == 90 and "96 %" in table


def test_outages_show_their_length_and_the_open_one_says_so(client, vic, marta):
    instance = db.session.get(PlatformInstance, vic.instance_id)
    now = utcnow()
    db.session.add_all([
        Outage(instance_id=instance.id, started_at=now - timedelta(days=3), ended_at=now - timedelta(days=3)
               + timedelta(minutes=47)),
        Outage(instance_id=instance.id, started_at=now - timedelta(days=2), ended_at=now - timedelta(days=2)
               + timedelta(hours=2, minutes=5)),
        Outage(instance_id=instance.id, started_at=now - timedelta(minutes=30)),
    ])
    instance.health, instance.down_since, instance.health_checked_at = "down", now - timedelta(minutes=30), now
    db.session.commit()
    client.login("mpuigdollers@vic.cat", factories.PASSWORD)
    page = text(client.get(f"/councils/{vic.id}/status"))
    assert "47 minutes" in page and "2 h 5 min" in page
    assert "still down" in page and "30 minutes so far" in page
    assert re.search(r"Down</span>\s*<span>since", page)
    assert "The desk knows and is working on it" in page


def test_outages_are_paged_over_more_than_three_pages(app, client, vic, marta):
    app.config["PAGE_SIZE"] = 3
    instance = db.session.get(PlatformInstance, vic.instance_id)
    start = utcnow() - timedelta(days=40)
    for number in range(11):
        db.session.add(Outage(instance_id=instance.id, started_at=start + timedelta(days=number),
                              ended_at=start + timedelta(days=number, minutes=number + 1)))
    db.session.commit()
    client.login("mpuigdollers@vic.cat", factories.PASSWORD)
    first = text(client.get(f"/councils/{vic.id}/status"))
    assert "11 minutes" in first and "Page 1 of 4" in first
    last = text(client.get(f"/councils/{vic.id}/status?outages=4&maintenance=2"))
    assert "Page 4 of 4" in last and "1 minute" in last and "11 minutes" not in last
    assert "maintenance=2" in last.split('rel="prev"')[0].rsplit("<a", 1)[1]  # the other list's page is kept


def test_planned_maintenance_on_the_councils_page_current_and_to_come_paged(app, client, vic, manlleu, marta):
    app.config["PAGE_SIZE"] = 3
    now = utcnow()
    current = plan(vic, now - timedelta(hours=1), reason="Còpia de seguretat extraordinària")
    for day in range(1, 11):
        plan(vic, now + timedelta(days=day), reason=f"Manteniment número {day}")
    plan(manlleu, now + timedelta(hours=5), reason="Només Manlleu")
    cancel_maintenance(None, db.session.get(MaintenanceWindow, plan(vic, now + timedelta(hours=3), reason="Anul·lat")),
                       now)
    db.session.commit()
    client.login("mpuigdollers@vic.cat", factories.PASSWORD)
    page = text(client.get(f"/councils/{vic.id}/status"))
    assert "In maintenance" in page and "Còpia de seguretat extraordinària" in page and "under way" in page
    assert "Només Manlleu" not in page and "Anul·lat" not in page
    assert "Page 1 of 4" in page
    last = text(client.get(f"/councils/{vic.id}/status?maintenance=4"))
    assert "Manteniment número 10" in last and "Manteniment número 1<" not in last
    assert db.session.get(MaintenanceWindow, current).is_current(now)


def test_the_technicians_list_is_paged_and_split_into_to_come_past_and_cancelled(app, client, vic, technician):
    app.config["PAGE_SIZE"] = 3
    now = utcnow()
    for day in range(10):
        plan(vic, now + timedelta(days=day + 1), reason=f"Finestra {day}")
    past = db.session.get(MaintenanceWindow, plan(vic, now - timedelta(days=2), reason="Ja feta"))
    past.starts_at, past.ends_at = now - timedelta(days=2), now - timedelta(days=2) + timedelta(hours=1)
    db.session.commit()
    client.login("tecnic@diba.cat", factories.PASSWORD)
    first = text(client.get("/maintenance"))
    assert "Finestra 0" in first and "Page 1 of 4" in first and "Ja feta" not in first
    last = text(client.get("/maintenance?page=4"))
    assert "Finestra 9" in last and "Finestra 0" not in last
    assert "Ja feta" in text(client.get("/maintenance?view=past"))


def test_a_technician_plans_changes_and_cancels_a_window_in_barcelona_time(client, vic, manlleu, technician):
    client.login("tecnic@diba.cat", factories.PASSWORD)
    client.get("/maintenance/new")
    response = client.submit("/maintenance/new", {"starts_at": "2030-03-10T22:00", "ends_at": "2030-03-10T21:00",
                                                  "reason": "", "instance_ids": []})
    assert response.status_code == 422
    page = text(response)
    assert error_after(page, "ends_at") == "The end must come after the start."
    assert error_after(page, "reason") == "Say what the maintenance is for: the councils read it."
    assert error_after(page, "instance_ids") == "Choose at least one instance, or a council with one."
    assert db.session.scalar(select(MaintenanceWindow)) is None
    response = client.submit("/maintenance/new", {"starts_at": "2030-03-10T22:00", "ends_at": "2030-03-11T01:30",
                                                  "reason": "Actualització a Decidim 0.28.6",
                                                  "council_ids": [str(vic.id), str(manlleu.id)]})
    assert response.status_code == 302
    window = db.session.scalar(select(MaintenanceWindow))
    assert window.starts_at.isoformat() == "2030-03-10T21:00:00+00:00"  # 22:00 in Barcelona is 21:00 UTC in March
    assert {item.host for item in window.instances} == {"vic.participa311.diba.cat", "manlleu.participa311.diba.cat"}
    window_id = window.id
    form = text(client.get(f"/maintenance/{window_id}"))
    assert 'value="2030-03-10T22:00"' in form
    response = client.submit(f"/maintenance/{window_id}", {"starts_at": "2030-07-10T22:00",
                                                           "ends_at": "2030-07-11T01:30", "reason": "Actualització",
                                                           "instance_ids": [str(vic.instance_id)]})
    assert response.status_code == 302
    window = db.session.scalar(select(MaintenanceWindow))
    assert window.starts_at.isoformat() == "2030-07-10T20:00:00+00:00" and window.revision == 2  # summer time
    assert [item.host for item in window.instances] == ["vic.participa311.diba.cat"]
    client.get(f"/maintenance/{window_id}")
    assert client.submit(f"/maintenance/{window_id}/cancel").status_code == 302
    assert db.session.get(MaintenanceWindow, window_id).is_cancelled
    assert "Actualització" in text(client.get("/maintenance?view=cancelled"))
    assert "Actualització" not in text(client.get("/maintenance"))
    assert {event.action for event in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "maintenance_windows"))} == {"created", "updated", "cancelled"}


def test_only_technicians_and_administrators_plan(client, vic):
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    assert client.get("/maintenance").status_code == 200
    assert client.get("/maintenance/new").status_code == 403


def test_a_council_user_turns_their_own_notices_off_on_the_status_page(client, vic, marta):
    client.login("mpuigdollers@vic.cat", factories.PASSWORD)
    page = text(client.get(f"/councils/{vic.id}/status"))
    assert "Marta Puigdollers" in page.split("E-mail about your platform")[1]
    response = client.submit(f"/councils/{vic.id}/status/notices", {})
    assert response.status_code == 302
    assert db.session.scalar(select(Contact)).receives_platform_notices is False
    page = text(client.get(f"/councils/{vic.id}/status"))
    assert "You will no longer receive e-mail about your platform." in page and "nobody yet" in page
    client.submit(f"/councils/{vic.id}/status/notices", {"receives_platform_notices": "y"})
    assert db.session.scalar(select(Contact)).receives_platform_notices is True


def test_staff_change_a_contacts_notices_on_the_contact_form(client, vic):
    contact = factories.contact(db.session.get(Council, vic.id), name="Jordi Casals", email="jcasals@vic.cat")
    assert contact.receives_platform_notices is True
    contact_id = contact.id
    factories.user(Role.AGENT, email="agent@example.org", language="en")
    client.login("agent@example.org", factories.PASSWORD)
    form = text(client.get(f"/contacts/{contact_id}"))
    assert "E-mail about the platform" in form
    response = client.submit(f"/contacts/{contact_id}", {"name": "Jordi Casals", "email": "jcasals@vic.cat"})
    assert response.status_code == 302
    assert db.session.get(Contact, contact_id).receives_platform_notices is False
    assert "E-mail about the platform" in text(client.get(f"/contacts/{contact_id}")).split("History")[1]


def test_a_time_the_clocks_skip_is_refused_and_one_they_repeat_is_read_as_the_first(client, vic, technician):
    client.login("tecnic@diba.cat", factories.PASSWORD)
    client.get("/maintenance/new")
    # 28 March 2027: in Barcelona the clocks go from 02:00 to 03:00, so 02:30 is no time at all
    response = client.submit("/maintenance/new", {"starts_at": "2027-03-28T02:30", "ends_at": "2027-03-28T04:00",
                                                  "reason": "Canvi d'hora", "instance_ids": [str(vic.instance_id)]})
    assert response.status_code == 422
    assert error_after(text(response), "starts_at") == ("That time does not exist: the clocks go forward an hour "
                                                        "that night.")
    assert db.session.scalar(select(MaintenanceWindow)) is None
    # 31 October 2027: 02:30 comes twice; the first (summer time) is the earlier and so the safer for the councils
    response = client.submit("/maintenance/new", {"starts_at": "2027-10-31T02:30", "ends_at": "2027-10-31T04:00",
                                                  "reason": "Canvi d'hora", "instance_ids": [str(vic.instance_id)]})
    assert response.status_code == 302
    window = db.session.scalar(select(MaintenanceWindow))
    assert window.starts_at.isoformat() == "2027-10-31T00:30:00+00:00"
    assert window.ends_at.isoformat() == "2027-10-31T03:00:00+00:00"


def test_a_year_nobody_means_is_refused_next_to_its_field(client, vic, technician):
    client.login("tecnic@diba.cat", factories.PASSWORD)
    client.get("/maintenance/new")
    for starts_at, ends_at in (("0001-01-01T00:00", "0001-01-01T04:00"), ("9999-12-31T20:00", "9999-12-31T23:59")):
        response = client.submit("/maintenance/new", {"starts_at": starts_at, "ends_at": ends_at, "reason": "R",
                                                      "instance_ids": [str(vic.instance_id)]})
        assert response.status_code == 422
        assert error_after(text(response), "starts_at") == "Give a date between 1900 and 2100."
    assert db.session.scalar(select(MaintenanceWindow)) is None
