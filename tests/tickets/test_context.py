"""Beside the ticket: the requester's and the council's other tickets (open first), the council's platform
with its version and health, its grants and its accompaniment sessions; for staff only, in a bounded
number of queries whatever the council's history."""
from datetime import timedelta

from sqlalchemy import event

import helpdesk.accompaniment.context  # noqa: F401 (registers the sessions, as the app factory should)
from helpdesk.accompaniment.context import sessions_of_council
from helpdesk.accompaniment import services as accompaniment
from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import context as ticket_context
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import change_status
from helpdesk.tickets.states import TicketStatus
from tests import factories
from tests.accompaniment.test_services import NOW, asked, session_data, vic  # noqa: F401 (fixture)


class Queries:
    """Counts the SQL statements sent while it is open."""

    def __init__(self):
        self.count = 0

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self.seen)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self.seen)

    def seen(self, *args):
        self.count += 1


def page(client, number):
    response = client.get(f"/tickets/{number}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def section(html: str) -> str:
    start = html.index('id="context-title"')
    return html[start:html.index("</section>", start)]


def test_the_other_tickets_show_open_first_then_the_latest_closed(client, english):
    agent = factories.user(Role.AGENT, language="en")
    council, elsewhere = factories.council("Ajuntament de Vic"), factories.council("Ajuntament de Berga")
    now = utcnow()
    closed_old = factories.ticket("Closed long ago", of=council, requester_email="marta@vic.cat",
                                  now=now - timedelta(days=30))
    closed_new = factories.ticket("Closed yesterday", of=council, requester_email="marta@vic.cat",
                                  now=now - timedelta(days=20))
    still_open = factories.ticket("Still open", of=council, requester_email="marta@vic.cat",
                                  now=now - timedelta(days=40))
    for ticket, day in ((closed_old, 29), (closed_new, 1)):
        change_status(agent, ticket, TicketStatus.CLOSED, now - timedelta(days=day))
    db.session.commit()
    colleague = factories.ticket("A colleague asks", of=council, requester_email="jordi@vic.cat")
    elsewhere_ticket = factories.ticket("Marta at her other job", of=elsewhere, requester_email="marta@vic.cat")
    this = factories.ticket("This one", of=council, requester_email="marta@vic.cat")
    numbers = {name: item.id for name, item in (("this", this), ("colleague", colleague), ("open", still_open))}

    client.login(agent.email, factories.PASSWORD)
    html = section(page(client, numbers["this"]))
    requester, council_part = html.split('id="context-council"')
    # The requester's (in any council): open ones first, even the oldest, then closed ones, the latest first
    # (each group by its last update); never this ticket.
    assert requester.index("Marta at her other job") < requester.index("Still open") \
        < requester.index("Closed yesterday") < requester.index("Closed long ago")
    assert "This one" not in html and "A colleague asks" not in requester
    assert "/inbox?view=all&amp;requester=marta@vic.cat" in requester
    # The council's: its own tickets only, open ones first.
    assert council_part.index("A colleague asks") < council_part.index("Closed yesterday")
    assert "Marta at her other job" not in council_part
    assert f"/inbox?view=all&amp;council={council.id}" in council_part
    # "See all" opens the inbox with the same tickets.
    inbox = client.get("/inbox?view=all&requester=marta%40vic.cat").get_data(as_text=True)
    assert all(subject in inbox for subject in ("Still open", "Closed long ago", "Marta at her other job"))
    assert "A colleague asks" not in inbox
    assert f'href="/tickets/{numbers["open"]}"' in html


def test_only_a_few_of_each_are_shown(client):
    agent = factories.user(Role.AGENT, language="en")
    council = factories.council()
    for number in range(ticket_context.SHOWN + 3):
        factories.ticket(f"Earlier {number}", of=council)
    this = factories.ticket("This one", of=council).id
    client.login(agent.email, factories.PASSWORD)
    html = section(page(client, this))
    assert html.count('href="/tickets/') == ticket_context.SHOWN


def test_the_platform_grants_and_sessions_are_one_click_away(client, english, vic):  # noqa: F811
    agent = factories.user(Role.AGENT, language="en")
    council_user = factories.user(Role.COUNCIL_USER, of=vic)
    request = asked(vic, council_user)
    accompaniment.authorise(factories.user(Role.OTPGL_APPROVER), request, "Té sentit.", NOW)
    accompaniment.schedule_session(agent, request, session_data(agent, start=utcnow() + timedelta(days=2)), NOW)
    db.session.commit()
    instance = vic.instances[0]
    instance.health, instance.decidim_version = "down", "0.27.6"
    db.session.commit()
    numbers = {"request": request.id, "instance": instance.id, "council": vic.id}
    this = factories.ticket("La plataforma no respon", of=vic).id

    client.login(agent.email, factories.PASSWORD)
    html = section(page(client, this))
    assert f'href="/instances/{numbers["instance"]}"' in html and "Decidim 0.27.6" in html and "Not answering" in html
    assert "Grants" in html and "renewal due by then" in html and 'href="/catalog/requests/' in html
    assert "Accompaniment sessions" in html and "Pressupostos participatius 2027" in html
    assert f'href="/accompaniment/requests/{numbers["request"]}"' in html
    assert f"/accompaniment/requests?council={numbers['council']}" in html


def test_sessions_to_come_first_then_the_latest_past(app, vic):  # noqa: F811
    agent = factories.user(Role.AGENT, language="en")
    council_user = factories.user(Role.COUNCIL_USER, of=vic)
    request = asked(vic, council_user)
    accompaniment.authorise(factories.user(Role.OTPGL_APPROVER), request, "Té sentit.", NOW)
    far = accompaniment.schedule_session(agent, request, session_data(agent, start=NOW + timedelta(days=20)), NOW)
    soon = accompaniment.schedule_session(agent, request, session_data(agent, start=NOW + timedelta(days=2)), NOW)
    db.session.commit()
    later_now = NOW + timedelta(days=10)  # "soon" is past by then
    assert [item.id for item in sessions_of_council(vic.id, agent, NOW)] == [soon.id, far.id]
    assert [item.id for item in sessions_of_council(vic.id, agent, later_now)] == [far.id, soon.id]
    stranger = factories.user(Role.COUNCIL_USER, of=factories.council())
    assert sessions_of_council(vic.id, stranger, NOW) == []


def test_a_council_user_never_sees_the_context(client, english):
    council = factories.council()
    referent = factories.user(Role.COUNCIL_USER, of=council, language="en")
    factories.ticket("Our earlier question", of=council, requester_email=referent.email)
    this = factories.ticket("Our question", of=council, requester_email=referent.email)
    assert ticket_context.gather(this, referent).council_tickets == []  # asked directly, still nothing
    number = this.id
    client.login(referent.email, factories.PASSWORD)
    html = page(client, number)
    assert 'id="context-title"' not in html and "Our earlier question" not in html
    assert 'id="tags-title"' not in html and 'id="watchers-title"' not in html


def test_the_ticket_page_asks_the_same_few_queries_whatever_the_history(client, vic):  # noqa: F811
    agent = factories.user(Role.AGENT, language="en")
    council_user = factories.user(Role.COUNCIL_USER, of=vic)
    request = asked(vic, council_user)
    accompaniment.authorise(factories.user(Role.OTPGL_APPROVER), request, "Té sentit.", NOW)
    accompaniment.schedule_session(agent, request, session_data(agent, start=NOW + timedelta(days=1)), NOW)
    db.session.commit()
    factories.ticket("Earlier", of=vic, requester_email="marta@vic.cat")
    this = factories.ticket("This one", of=vic, requester_email="marta@vic.cat").id
    client.login(agent.email, factories.PASSWORD)
    page(client, this)  # the first visit marks it read; count later ones
    with Queries() as few:
        page(client, this)
    for number in range(40):
        factories.ticket(f"Earlier {number}", of=vic, requester_email="marta@vic.cat")
    request, agent = db.session.merge(request), db.session.merge(agent)
    for day in range(2, 8):
        accompaniment.schedule_session(agent, request, session_data(agent, start=NOW + timedelta(days=day)), NOW)
    db.session.commit()
    with Queries() as many:
        html = page(client, this)
    assert "Earlier 39" in html
    assert many.count == few.count
    # Measured on SQLite: 22 statements for the page before the side column had its context, tags and
    # watchers; they add 8 (tags, watchers, colleagues, the requester's and the council's tickets, the
    # platform, the grants, the sessions).
    assert many.count <= 32, many.count
    ticket, agent = db.session.get(Ticket, this), db.session.merge(agent)
    with client.application.test_request_context(), Queries() as gathered:
        ticket_context.gather(ticket, agent)
    assert gathered.count == 5
