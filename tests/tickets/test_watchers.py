"""Watchers: staff watch and stop watching a ticket, the assignee adds a colleague, nobody else adds others;
council users never see or change them; ``watchers_of`` gives whom notifications tell beside the assignee."""
import pytest

from helpdesk.auth.models import Role
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import watchers
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services import assign_to_me
from tests import factories


def watching(number):
    return [user.name for user in watchers.watchers_of(db.session.get(Ticket, number))]


def test_watching_is_listed_toggled_and_audited(client):
    agent = factories.user(Role.AGENT, language="en")
    agent.name = "Anna Puig"
    db.session.commit()
    email, number = agent.email, factories.ticket("Logo", of=factories.council()).id
    client.login(email, factories.PASSWORD)
    html = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "Nobody watches this ticket." in html and ">Watch</button>" in html
    html = client.submit(f"/tickets/{number}/watch", follow_redirects=True).get_data(as_text=True)
    assert "You are watching this ticket." in html and ">Stop watching</button>" in html
    assert watching(number) == ["Anna Puig"]
    client.submit(f"/tickets/{number}/watch")  # twice is once
    assert watching(number) == ["Anna Puig"]
    html = client.submit(f"/tickets/{number}/unwatch", follow_redirects=True).get_data(as_text=True)
    assert "You no longer watch this ticket." in html and watching(number) == []
    assert "added a watcher" in html and "removed a watcher" in html and "Anna Puig" in html


def test_the_assignee_adds_a_colleague_and_nobody_else_does(client):
    assignee, colleague, other = (factories.user(Role.AGENT, language="en") for _ in range(3))
    colleague.name, other.name = "Biel Roca", "Carla Mas"
    db.session.commit()
    number = factories.ticket("Logo", of=factories.council()).id
    assign_to_me(assignee, number, utcnow())
    db.session.commit()
    emails = {"assignee": assignee.email, "other": other.email}
    colleague_id, other_id = colleague.id, other.id

    client.login(emails["other"], factories.PASSWORD)
    html = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "Add a colleague as watcher" not in html  # only the assignee is offered it
    response = client.submit(f"/tickets/{number}/watchers", {"watcher-user_id": str(colleague_id)})
    assert response.status_code == 422
    assert "Only the ticket&#39;s assignee adds or removes a colleague" in response.get_data(as_text=True)
    assert watching(number) == []

    client = client.application.test_client()
    client.login(emails["assignee"], factories.PASSWORD)
    assert "Add a colleague as watcher" in client.get(f"/tickets/{number}").get_data(as_text=True)
    assert client.submit(f"/tickets/{number}/watchers", {"watcher-user_id": ""}).status_code == 422
    html = client.submit(f"/tickets/{number}/watchers", {"watcher-user_id": str(colleague_id)},
                         follow_redirects=True).get_data(as_text=True)
    assert "Biel Roca now watches this ticket." in html and watching(number) == ["Biel Roca"]
    client.submit(f"/tickets/{number}/watchers", {"watcher-user_id": str(other_id)})
    assert watching(number) == ["Biel Roca", "Carla Mas"]
    html = client.submit(f"/tickets/{number}/watchers/{colleague_id}/remove", follow_redirects=True) \
        .get_data(as_text=True)
    assert "Biel Roca no longer watches this ticket." in html and watching(number) == ["Carla Mas"]


def test_only_active_staff_watch_and_are_told(app, english):
    assignee, colleague = factories.user(Role.AGENT), factories.user(Role.TECHNICIAN)
    council = factories.council()
    referent = factories.user(Role.COUNCIL_USER, of=council)
    ticket = factories.ticket("Logo", of=council)
    assign_to_me(assignee, ticket.id, utcnow())
    with pytest.raises(DomainError, match="Only active members of the support team"):
        watchers.watch(assignee, ticket, referent)
    with pytest.raises(NotAllowed, match="Only the support team watches"):
        watchers.watch(referent, ticket, referent)
    watchers.watch(assignee, ticket, colleague)
    watchers.watch(assignee, ticket, assignee)
    db.session.commit()
    assert {user.id for user in watchers.watchers_of(ticket)} == {assignee.id, colleague.id}
    colleague.is_active = False  # a deactivated account is told nothing
    db.session.commit()
    assert [user.id for user in watchers.watchers_of(ticket)] == [assignee.id]
    assert watchers.is_watching(assignee, ticket)


def test_a_council_user_never_sees_or_changes_watchers(client):
    council = factories.council()
    referent = factories.user(Role.COUNCIL_USER, of=council, language="en")
    agent = factories.user(Role.AGENT)
    agent.name = "Anna Puig"
    db.session.commit()
    ticket = factories.ticket("Logo", of=council, requester_email=referent.email)
    watchers.watch(agent, ticket, agent)
    db.session.commit()
    number, email = ticket.id, referent.email
    client.login(email, factories.PASSWORD)
    html = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "Anna Puig" not in html and "Watch" not in html
    for url in (f"/tickets/{number}/watch", f"/tickets/{number}/unwatch", f"/tickets/{number}/watchers"):
        assert client.submit(url).status_code == 403
    assert watching(number) == ["Anna Puig"]
