"""Free tags: one tag whatever the case or spaces typed, completion for staff only, the inbox filtered by
tag across pages and with the other filters (through the index), bulk tagging all or nothing, audited."""
import re

import pytest
from sqlalchemy import select, text

from helpdesk.auth.models import Role
from helpdesk.core.audit import AuditEvent
from helpdesk.core.errors import DomainError
from helpdesk.extensions import db
from helpdesk.tickets import inbox, tags
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.states import Priority
from tests import factories
from tests.conftest import POSTGRES_URL
from werkzeug.datastructures import MultiDict


def names_on(ticket_id):
    return tags.tags_by_ticket([ticket_id]).get(ticket_id, [])


def events(action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                              .order_by(AuditEvent.object_id)).all()


@pytest.fixture
def agent(app):
    return factories.user(Role.AGENT, language="en")


def test_a_tag_is_one_whatever_the_case_and_spaces(app, english, agent):
    first, second = factories.ticket("Logo", of=factories.council()), factories.ticket("Logo 2")
    tags.tag_tickets(agent, [first], "  Logo   Nou ")
    tags.tag_tickets(agent, [second], "LOGO nou")
    tags.tag_tickets(agent, [first], "logo nou")  # already there: nothing added, nothing audited
    db.session.commit()
    assert db.session.scalars(select(tags.Tag.name)).all() == ["logo nou"]
    assert names_on(first.id) == names_on(second.id) == ["logo nou"]
    assert len(events("tagged")) == 2
    for wrong, message in (("   ", "Write the tag"), ("a, b", "letters, digits"), ("x" * 41, "at most 40"),
                           ("<b>", "letters, digits")):
        with pytest.raises(DomainError, match=message):
            tags.tag_tickets(agent, [first], wrong)
    council_user = factories.user(Role.COUNCIL_USER, of=factories.council())
    with pytest.raises(DomainError, match="Only the support team"):
        tags.tag_tickets(council_user, [first], "mine")


def test_completion_offers_tags_in_use_the_most_used_first_to_staff_only(client, agent):
    council = factories.council()
    tickets = [factories.ticket(f"T{number}", of=council) for number in range(3)]
    tags.tag_tickets(agent, tickets[:1], "migració")
    tags.tag_tickets(agent, tickets, "migració 0.28")
    tags.tag_tickets(agent, tickets[:1], "logo")
    tags.tag_tickets(agent, tickets[:1], "b_c")
    tags.tag_tickets(agent, tickets[:1], "bxc")
    tags.untag_tickets(agent, tickets[:1], "logo")  # no longer in use: not offered
    db.session.commit()
    referent = factories.user(Role.COUNCIL_USER, of=council).email
    client.login(agent.email, factories.PASSWORD)
    assert client.get("/tags/complete?q=MIG").get_json() == ["migració 0.28", "migració"]
    assert client.get("/tags/complete?q=lo").get_json() == []
    assert client.get("/tags/complete?q=b_").get_json() == ["b_c"]  # "_" is itself, not any character
    assert client.get("/tags/complete?q=%25").get_json() == []
    assert client.get("/tags/complete").get_json() == []
    council_client = client.application.test_client()
    council_client.login(referent, factories.PASSWORD)
    assert council_client.get("/tags/complete?q=mig").status_code == 403


def test_the_inbox_filters_by_tag_across_pages_and_with_the_other_filters(client, app, agent):
    app.config["PAGE_SIZE"] = 5
    vic, berga = factories.council("Ajuntament de Vic"), factories.council("Ajuntament de Berga")
    made = [factories.ticket(f"Ticket {number:02d}", of=vic if number % 2 else berga,
                             priority=Priority.HIGH if number % 3 == 0 else Priority.NORMAL) for number in range(44)]
    tagged = [ticket for ticket in made if ticket.id % 2 == 0]  # 22 tickets: five pages of five
    tags.tag_tickets(agent, tagged, "Logo")
    tags.tag_tickets(agent, made[:4], "urgent")
    db.session.commit()
    expected = {ticket.id for ticket in tagged}
    both = {ticket.id for ticket in made[:4] if ticket.id % 2 == 0}
    high_in_vic = {ticket.id for ticket in tagged if ticket.priority is Priority.HIGH and ticket.council_id == vic.id}
    vic_id = vic.id
    client.login(agent.email, factories.PASSWORD)

    def walk(query):
        seen, url = [], f"/inbox?{query}"
        while url:
            html = client.get(url).get_data(as_text=True)
            seen += [int(number) for number in re.findall(r'name="tickets" value="(\d+)"', html)]
            following = re.search(r'href="([^"]+)" rel="next"', html)
            url = following.group(1).replace("&amp;", "&") if following else None
        return seen

    found = walk("view=all&tag=LOGO")
    assert len(found) == len(expected) == 22 and set(found) == expected  # every page, no repeats
    assert set(walk("view=all&tag=logo&tag=urgent")) == both
    assert set(walk(f"view=all&tag=logo&priority=high&council={vic_id}")) == high_in_vic
    assert walk("view=all&tag=nobody-uses-this") == []
    page = client.get("/inbox?view=all&tag=logo").get_data(as_text=True)
    assert 'value="logo"' in page and 'class="badge" href="/inbox?view=all&amp;tag=logo"' in page


def test_the_tag_filter_is_a_search_through_the_indexes(app, agent):
    factories.ticket("One")
    user = db.session.merge(agent)
    statement = inbox.statement(inbox.InboxQuery.from_args(MultiDict({"view": "all", "tag": "logo"})), user)
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    if POSTGRES_URL:
        db.session.execute(text("SET LOCAL enable_seqscan = off"))  # few rows: ask whether the index serves
        plan = "\n".join(db.session.scalars(text(f"EXPLAIN {compiled}")))
        assert "ix_ticket_tags_tag_id_ticket_id" in plan or "pk_ticket_tags" in plan, plan
        assert "uq_tags_name" in plan, plan
    else:
        plan = "\n".join(row[-1] for row in db.session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
        assert "USING COVERING INDEX ix_ticket_tags_tag_id_ticket_id" in plan, plan
        assert "SCAN tickets" not in plan, plan
        assert "SEARCH tags USING COVERING INDEX sqlite_autoindex_tags_1 (name=?)" in plan, plan


def test_bulk_tagging_is_all_or_nothing_and_audited(client, agent):
    council = factories.council()
    numbers = [factories.ticket(f"Bulk {number}", of=council).id for number in range(3)]
    client.login(agent.email, factories.PASSWORD)
    client.get("/inbox")
    missing = max(numbers) + 100
    response = client.submit("/inbox/bulk-tag", {"tickets": numbers + [missing], "bulk_tag": "ordre",
                                                 "bulk_tag_operation": "add", "next": "/inbox"},
                             follow_redirects=True)
    assert f"Nothing was changed. there is no ticket #{missing}" in response.get_data(as_text=True)
    response = client.submit("/inbox/bulk-tag", {"tickets": numbers, "bulk_tag": "a,b", "bulk_tag_operation": "add",
                                                 "next": "/inbox"}, follow_redirects=True)
    assert "Nothing was changed. A tag has letters, digits" in response.get_data(as_text=True)
    assert all(names_on(number) == [] for number in numbers) and events("tagged") == []

    response = client.submit("/inbox/bulk-tag", {"tickets": numbers, "bulk_tag": " Ordre Del Dia ",
                                                 "bulk_tag_operation": "add", "next": "/inbox?view=all"},
                             follow_redirects=True)
    assert "Tag “ordre del dia” added to 3 tickets." in response.get_data(as_text=True)
    assert all(names_on(number) == ["ordre del dia"] for number in numbers)
    assert [event.object_id for event in events("tagged")] == numbers
    assert events("tagged")[0].changes == {"tag": {"before": None, "after": "ordre del dia"}}
    page = client.get("/inbox?view=all").get_data(as_text=True)
    assert page.count('href="/inbox?view=all&amp;tag=ordre+del+dia"') == 3

    response = client.submit("/inbox/bulk-tag", {"tickets": numbers[:2], "bulk_tag": "ordre del dia",
                                                 "bulk_tag_operation": "remove", "next": "/inbox"},
                             follow_redirects=True)
    assert "removed from 2 tickets" in response.get_data(as_text=True)
    assert [names_on(number) for number in numbers] == [[], [], ["ordre del dia"]]
    assert [event.object_id for event in events("untagged")] == numbers[:2]
    trail = client.get(f"/tickets/{numbers[0]}").get_data(as_text=True)
    assert "added a tag" in trail and "removed a tag" in trail


def test_tagging_on_the_ticket_page_and_what_a_council_user_sees(client, agent):
    council = factories.council()
    referent = factories.user(Role.COUNCIL_USER, of=council, language="en").email
    number = factories.ticket("Canvi de logotip", of=council, requester_email=referent).id
    client.login(agent.email, factories.PASSWORD)
    client.get(f"/tickets/{number}")
    response = client.submit(f"/tickets/{number}/tags", {"tag-tag": "a;b"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="tag-tag-error">A tag has letters, digits', html)  # beside the field
    assert names_on(number) == []
    response = client.submit(f"/tickets/{number}/tags", {"tag-tag": "Logotip"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Tagged “logotip”." in html and 'href="/inbox?view=all&amp;tag=logotip"' in html
    response = client.submit(f"/tickets/{number}/tags/remove", {"untag-tag": "logotip"}, follow_redirects=True)
    assert "Tag “logotip” removed." in response.get_data(as_text=True) and names_on(number) == []
    client.submit(f"/tickets/{number}/tags", {"tag-tag": "intern"})

    client = client.application.test_client()
    client.login(referent, factories.PASSWORD)
    html = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "intern" not in html and 'id="tags-title"' not in html
    assert client.submit(f"/tickets/{number}/tags", {"tag-tag": "mine"}).status_code == 403
    assert client.submit(f"/tickets/{number}/tags/remove", {"untag-tag": "intern"}).status_code == 403
    assert client.submit("/inbox/bulk-tag", {"tickets": [number], "bulk_tag": "x"}).status_code == 403
    assert names_on(number) == ["intern"]
    assert db.session.get(Ticket, number) is not None


@pytest.mark.browser
def test_in_a_browser_an_agent_tags_with_completion_then_filters_the_inbox(app, live_server, browser):
    council = factories.council("Ajuntament de Vic")
    agent = factories.user(Role.AGENT, email="agent@example.org", language="en")
    earlier = factories.ticket("Upgrade questions", of=council)
    tags.tag_tickets(agent, [earlier], "migració 0.28")
    db.session.commit()
    number = factories.ticket("The maps module after the upgrade", of=council).id
    factories.ticket("Logo change", of=council)

    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/login")
    page.get_by_label("Correu electrònic").fill("agent@example.org")
    page.get_by_label("Contrasenya").fill(factories.PASSWORD)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.goto(f"{live_server}/tickets/{number}")
    page.get_by_label("Add a tag").press_sequentially("MIG", delay=50)
    page.get_by_role("option", name="migració 0.28").click()  # the completion, from the tags in use
    assert page.get_by_label("Add a tag").input_value() == "migració 0.28"
    page.get_by_role("button", name="Add tag").click()
    page.wait_for_load_state()
    assert page.get_by_text("Tagged “migració 0.28”.").is_visible()
    assert page.locator(".ticket-tags").get_by_role("link", name="migració 0.28").is_visible()

    page.goto(f"{live_server}/inbox")
    page.get_by_label("Tag", exact=True).press_sequentially("migr", delay=50)
    page.get_by_role("option", name="migració 0.28").click()
    page.get_by_role("button", name="Filter").click()
    page.wait_for_load_state()
    rows = page.locator("table.inbox tbody tr")
    subjects = [text.removeprefix("Unread:").strip() for text in rows.locator("td:nth-child(3) > a").all_inner_texts()]
    assert sorted(subjects) == ["The maps module after the upgrade", "Upgrade questions"]
    assert "tag=migraci%C3%B3+0.28" in page.url
    assert errors == []
