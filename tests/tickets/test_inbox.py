"""The inbox's saved views, filters, sorting and full-text search, on SQLite and PostgreSQL alike."""
from datetime import timedelta

import pytest
from werkzeug.datastructures import MultiDict

from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets import inbox
from helpdesk.tickets.services import add_message, assign_to_me, change_status
from helpdesk.tickets.states import MessageKind, Priority, TicketStatus
from tests import factories

NOW = utcnow()


def found(user, **args):
    query = inbox.InboxQuery.from_args(MultiDict(args))
    return [ticket.subject for ticket in db.session.scalars(inbox.statement(query, user))]


@pytest.fixture
def desk(app):
    agent = factories.user(Role.AGENT)
    other = factories.user(Role.AGENT)
    vic, manresa = factories.council(name="Ajuntament de Vic"), factories.council(name="Ajuntament de Manresa")
    tickets = {
        "accions": factories.ticket("Les accions del pressupost", "Cal revisar-ho", of=vic, now=NOW),
        "accio": factories.ticket("Una Acció nova", "Volem obrir un procés", of=manresa,
                                  now=NOW + timedelta(minutes=1), priority=Priority.URGENT),
        "accents": factories.ticket("Problema amb accións", "Text", of=vic, now=NOW + timedelta(minutes=2)),
        "other": factories.ticket("Canvi de logotip", "El logotip antic surt encara", of=manresa,
                                  now=NOW + timedelta(minutes=3)),
    }
    assign_to_me(agent, tickets["accions"].id, NOW + timedelta(minutes=4))
    assign_to_me(other, tickets["other"].id, NOW + timedelta(minutes=5))
    change_status(other, tickets["other"], TicketStatus.PENDING, NOW + timedelta(minutes=5))
    change_status(agent, tickets["accents"], TicketStatus.RESOLVED, NOW + timedelta(minutes=6))
    db.session.commit()
    return agent, vic, tickets


def test_saved_views(desk):
    agent, _, _ = desk
    assert found(agent, view="mine") == ["Les accions del pressupost"]
    assert found(agent, view="unassigned") == ["Una Acció nova"]
    assert found(agent, view="waiting") == ["Canvi de logotip"]
    assert set(found(agent, view="open")) == {"Les accions del pressupost", "Una Acció nova", "Canvi de logotip"}
    assert found(agent, view="recent")[0] == "Problema amb accións"  # the last one touched


def test_filters_and_sorting(desk):
    agent, vic, _ = desk
    assert found(agent, view="all", council=str(vic.id), sort="created") == [
        "Les accions del pressupost", "Problema amb accións"]
    assert found(agent, view="all", priority="urgent") == ["Una Acció nova"]
    assert found(agent, view="all", status="resolved") == ["Problema amb accións"]
    assert found(agent, view="all", sort="-priority")[0] == "Una Acció nova"
    assert found(agent, view="all", assignee="none", sort="created") == ["Una Acció nova", "Problema amb accións"]


def test_search_is_accent_and_inflection_insensitive(desk):
    agent, _, _ = desk
    expected = {"Les accions del pressupost", "Una Acció nova", "Problema amb accións"}
    for query in ("accions", "acció", "ACCIONS", "accións"):
        assert set(found(agent, view="all", q=query)) == expected, query
    assert found(agent, view="all", q="logotip antic") == ["Canvi de logotip"]  # words of the body count
    assert found(agent, view="all", q="logotip inexistent") == []  # every word must match
    assert found(agent, view="all", q="pressupostos") == ["Les accions del pressupost"]


def test_search_finds_words_of_later_messages_and_forgets_hidden_ones(desk):
    agent, _, tickets = desk
    message = add_message(agent, tickets["accio"], MessageKind.NOTE, "Caldrà reiniciar el servidor", NOW)
    db.session.commit()
    assert found(agent, view="all", q="servidor") == ["Una Acció nova"]
    from helpdesk.tickets.services import delete_message
    delete_message(agent, message, NOW)
    db.session.commit()
    assert found(agent, view="all", q="servidor") == []


def test_a_number_finds_that_ticket(desk):
    agent, _, tickets = desk
    assert found(agent, view="all", q=f"#{tickets['other'].id}") == ["Canvi de logotip"]


def test_council_users_never_see_other_councils_tickets(desk):
    _, vic, _ = desk
    referent = factories.user(Role.COUNCIL_USER, of=vic)
    assert set(found(referent, view="all")) == {"Les accions del pressupost", "Problema amb accións"}


def test_unread_markers(desk):
    agent, vic, tickets = desk
    from helpdesk.tickets.services import mark_read
    page = list(db.session.scalars(inbox.statement(inbox.InboxQuery(view="all"), agent)))
    assert inbox.unread_ids(agent, page) == {ticket.id for ticket in page}
    mark_read(agent, tickets["accions"], NOW + timedelta(hours=1))
    referent = factories.user(Role.COUNCIL_USER, of=vic)
    add_message(referent, tickets["accents"], MessageKind.INBOUND, "Encara passa", NOW + timedelta(hours=2))
    mark_read(agent, tickets["accents"], NOW + timedelta(hours=1))
    db.session.commit()
    unread = inbox.unread_ids(agent, page)
    assert tickets["accions"].id not in unread
    assert tickets["accents"].id in unread  # the requester wrote after the agent last looked


def test_a_search_or_status_filter_looks_beyond_the_views_statuses(desk):
    agent, _, tickets = desk
    resolved = tickets["accents"]
    assert found(agent, view="open", q=f"#{resolved.id}") == ["Problema amb accións"]
    assert found(agent, view="open", status="resolved") == ["Problema amb accións"]
    assert found(agent, view="open", q=str(resolved.id)) == ["Problema amb accións"]  # bare digits too


def test_odd_numbers_in_the_url_are_ignored_not_errors(desk, client):
    agent, _, _ = desk
    query = inbox.InboxQuery.from_args(MultiDict({"council": "²", "assignee": "³", "q": "²"}))
    assert query.council_id is None and query.assignee == ""
    assert list(db.session.scalars(inbox.statement(query, agent))) == []
