"""Each role lands on its own work after signing in: the OTPGL on the requests waiting for its authorisation,
catalogue managers on the requests sent in to decide, technicians on their tickets and every outage; agents and
administrators on the inbox; council users on their own tickets."""
from datetime import date

import pytest

from helpdesk.auth.models import Role
from helpdesk.catalog.models import CatalogCall
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import services as tickets
from helpdesk.tickets.states import Category
from tests import factories
from tests.accompaniment.test_services import asked, vic  # noqa: F401 (the fixture)
from tests.catalog.test_services import filed
from tests.pages import text


def assigned(ticket, person) -> None:
    tickets.assign(person, ticket, person.id, utcnow())
    db.session.commit()


def lands(client, user) -> tuple[str, str]:
    """Where ``user`` goes from the sign-in, and what that page says."""
    assert client.login(user.email, factories.PASSWORD).headers["Location"] == "/"
    home = client.get("/")
    assert home.status_code == 302
    page = client.get(home.headers["Location"])
    assert page.status_code == 200
    return home.headers["Location"], text(page)


def test_the_otpgl_approver_lands_on_the_requests_waiting_for_its_authorisation(client, app, vic):
    asked(vic, factories.user(Role.COUNCIL_USER, of=vic), action="Consulta sobre la plaça Major")
    where, page = lands(client, factories.user(Role.OTPGL_APPROVER))
    assert where == "/accompaniment/queue" and "Consulta sobre la plaça Major" in page


def test_the_catalogue_manager_lands_on_the_requests_to_decide(client, app):
    db.session.add(CatalogCall(year=2026, opens_on=date(2026, 1, 15), closes_on=date(2026, 3, 31)))
    db.session.commit()
    reference = filed(factories.council("Ajuntament de Vic", "08298"), None).reference
    where, page = lands(client, factories.user(Role.CATALOGUE_MANAGER))
    assert where == "/catalog/requests?status=submitted" and reference in page


def test_the_technician_lands_on_their_own_tickets_and_every_outage(client, app):
    technician, agent = factories.user(Role.TECHNICIAN), factories.user(Role.AGENT)
    assigned(factories.ticket("Alta de la plataforma de Vic"), technician)
    factories.ticket("La plataforma de Berga no respon", category=Category.OUTAGE)
    assigned(factories.ticket("Com canvio el logotip?"), agent)
    where, page = lands(client, technician)
    assert where == "/inbox?view=mine_and_outages"
    assert "Alta de la plataforma de Vic" in page and "La plataforma de Berga no respon" in page
    assert "Com canvio el logotip?" not in page


@pytest.mark.parametrize("role", [Role.AGENT, Role.ADMIN])
def test_agents_and_administrators_stay_on_the_inbox(client, app, role):
    where, _page = lands(client, factories.user(role))
    assert where == "/inbox"


def test_council_users_land_on_their_councils_tickets(client, app):
    where, _page = lands(client, factories.user(Role.COUNCIL_USER, of=factories.council()))
    assert where == "/tickets"
