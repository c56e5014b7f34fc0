"""Who may open what: each role against each page, and council isolation answered with 404."""
import pytest

from helpdesk.auth.models import Role
from tests import factories


@pytest.fixture
def world(app):
    vic = factories.council(name="Ajuntament de Vic")
    manresa = factories.council(name="Ajuntament de Manresa")
    return {
        "vic": vic.id, "manresa": manresa.id,
        "vic_contact": factories.contact(vic).id, "manresa_contact": factories.contact(manresa).id,
        "vic_instance": factories.instance(vic).id, "manresa_instance": factories.instance(manresa).id,
        "vic_ticket": factories.ticket(of=vic).id, "manresa_ticket": factories.ticket(of=manresa).id,
        "users": {role: factories.user(role, of=vic if role is Role.COUNCIL_USER else None).email for role in Role},
    }


PAGES = {
    "councils": "/councils",
    "new council": "/councils/new",
    "vic": "/councils/{vic}",
    "edit vic": "/councils/{vic}/edit",
    "manresa": "/councils/{manresa}",
    "vic contact": "/contacts/{vic_contact}",
    "new vic contact": "/councils/{vic}/contacts/new",
    "manresa contact": "/contacts/{manresa_contact}",
    "instances": "/instances",
    "new instance": "/instances/new",
    "vic instance": "/instances/{vic_instance}",
    "edit vic instance": "/instances/{vic_instance}/edit",
    "manresa instance": "/instances/{manresa_instance}",
    "inbox": "/inbox",
    "tickets": "/tickets",
    "new ticket": "/tickets/new",
    "vic ticket": "/tickets/{vic_ticket}",
    "manresa ticket": "/tickets/{manresa_ticket}",
    "calls": "/calls",
    "log a call": "/calls/new",
    "canned replies": "/admin/canned-replies/",
    "users": "/admin/users",
    "new user": "/admin/users/new",
    "account": "/account",
}
A, G, T, C, O, U = (Role.ADMIN, Role.AGENT, Role.TECHNICIAN, Role.CATALOGUE_MANAGER, Role.OTPGL_APPROVER,
                    Role.COUNCIL_USER)
EXPECTED = {  # page: {role: status}; roles not named get 200
    "councils": {U: 403},
    "new council": {G: 403, T: 403, C: 403, O: 403, U: 403},
    "edit vic": {G: 403, T: 403, C: 403, O: 403, U: 403},
    "manresa": {U: 404},
    "vic contact": {T: 403, O: 403},
    "new vic contact": {T: 403, O: 403},
    "manresa contact": {T: 403, O: 403, U: 404},
    "instances": {U: 403},
    "new instance": {G: 403, C: 403, O: 403, U: 403},
    "edit vic instance": {G: 403, C: 403, O: 403, U: 403},
    "manresa instance": {U: 404},
    "inbox": {U: 403},
    "tickets": {A: 302, G: 302, T: 302, C: 302, O: 302},  # staff are sent to the inbox
    "manresa ticket": {U: 404},
    "calls": {U: 403},
    "log a call": {U: 403},
    "canned replies": {G: 403, T: 403, C: 403, O: 403, U: 403},
    "users": {G: 403, T: 403, C: 403, O: 403, U: 403},
    "new user": {G: 403, T: 403, C: 403, O: 403, U: 403},
}


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_each_role_opens_exactly_its_pages(client, world, role):
    client.login(world["users"][role], factories.PASSWORD)
    seen = {name: client.get(path.format(**world)).status_code for name, path in PAGES.items()}
    expected = {name: EXPECTED.get(name, {}).get(role, 200) for name in PAGES}
    assert seen == expected


def test_anonymous_visitors_are_sent_to_login(client, world):
    for path in PAGES.values():
        response = client.get(path.format(**world))
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next=")


def test_a_council_user_cannot_change_another_councils_contact_by_posting(client, world):
    client.login(world["users"][Role.COUNCIL_USER], factories.PASSWORD)
    client.get("/account")
    response = client.submit(f"/contacts/{world['manresa_contact']}", {"name": "Hacked", "email": "h@example.org"})
    assert response.status_code == 404
    response = client.submit(f"/councils/{world['manresa']}/contacts/new", {"name": "Hacked", "phone": "938000000"})
    assert response.status_code == 404
    client.get(f"/councils/{world['manresa']}")  # still not visible
    from helpdesk.councils.models import Contact
    from helpdesk.extensions import db
    assert db.session.get(Contact, world["manresa_contact"]).name != "Hacked"


def test_council_users_do_not_see_the_staff_audit_trail_or_notes(client, world, app):
    client.login(world["users"][Role.COUNCIL_USER], factories.PASSWORD)
    page = client.get(f"/councils/{world['vic']}").get_data(as_text=True)
    assert "Ajuntament de Vic" in page
    assert "Historial" not in page
    assert "Edita" not in page  # the council itself is the administrators' to change
