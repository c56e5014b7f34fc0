"""Two agents at the same moment, each on their own database connection (run on SQLite and PostgreSQL;
on PostgreSQL this is row locking between two real connections)."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from helpdesk.auth.models import Role, User
from helpdesk.core.errors import DomainError
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import TicketChanges, assign_to_me, update_ticket
from helpdesk.tickets.states import Priority
from tests import factories


def run_interleaved(app, first, second):
    """Run ``first`` until it has written (not committed), then ``second``, which must wait for the
    first's commit; return what each returned or raised."""
    written, results = threading.Event(), {}

    def one():
        with app.app_context():
            try:
                first()
                db.session.flush()
                written.set()
                threading.Event().wait(0.3)  # hold the row while the other tries
                db.session.commit()
                results["first"] = "saved"
            except Exception as error:  # noqa: BLE001 - reported to the test
                db.session.rollback()
                results["first"] = error
            finally:
                written.set()
                db.session.remove()

    def two():
        written.wait(5)
        with app.app_context():
            try:
                second()
                db.session.commit()
                results["second"] = "saved"
            except Exception as error:  # noqa: BLE001 - reported to the test
                db.session.rollback()
                results["second"] = error
            finally:
                db.session.remove()

    threads = [threading.Thread(target=one), threading.Thread(target=two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return results


@pytest.fixture
def setting(app):
    agents = [factories.user(Role.AGENT, email=f"agent{n}@example.org").id for n in (1, 2)]
    ticket_id = factories.ticket(of=factories.council()).id
    db.session.remove()
    return agents, ticket_id


def test_two_agents_taking_the_same_ticket_leave_exactly_one_assignee(app, setting):
    (first, second), ticket_id = setting
    now = utcnow()
    results = run_interleaved(
        app, lambda: assign_to_me(db.session.get(User, first), ticket_id, now),
        lambda: assign_to_me(db.session.get(User, second), ticket_id, now + timedelta(seconds=1)))
    assert results["first"] == "saved"
    assert isinstance(results["second"], DomainError)
    assert "ja està assignat" in str(results["second"].message)
    assert db.session.scalar(select(Ticket.assignee_id).where(Ticket.id == ticket_id)) == first


def test_the_second_of_two_simultaneous_saves_is_refused_and_overwrites_nothing(app, setting):
    (first, second), ticket_id = setting
    now = utcnow()

    def save(user_id, priority):
        def action():
            user, ticket = db.session.get(User, user_id), db.session.get(Ticket, ticket_id)
            update_ticket(user, ticket, TicketChanges(
                subject=ticket.subject, status=ticket.status, priority=priority, category=ticket.category,
                council_id=ticket.council_id, instance_id=ticket.instance_id, assignee_id=None), now)
            db.session.flush()
        return action

    # The second reads the ticket while the first has written but not committed: it holds the old version.
    results = run_interleaved(app, save(first, Priority.HIGH), save(second, Priority.LOW))
    assert results["first"] == "saved"
    assert isinstance(results["second"], (StaleDataError, DomainError))
    assert db.session.scalar(select(Ticket.priority).where(Ticket.id == ticket_id)) is Priority.HIGH
