"""The inbox on a desk's screen: 15 tickets and more at a glance with the columns an agent needs, the agent's own
choice of columns and their last sort kept across sign-outs, and the rules of keeping them (staff only, junk
ignored), with or without JavaScript."""
import os
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from helpdesk.auth.models import Role, User
from helpdesk.core.errors import NotAllowed
from helpdesk.extensions import db
from helpdesk.tickets import preferences
from helpdesk.tickets.preferences import InboxPreference
from helpdesk.tickets.services import assign
from helpdesk.tickets.states import Priority
from tests import factories

DESKTOP = {"width": 1920, "height": 1080}
SCREENSHOTS = os.environ.get("KEYS_INBOX_SCREENSHOT", "")  # a path: keep a picture of the inbox (for the README)
NAMED_COLUMNS = ("Council", "Subject", "Status", "Priority", "Assignee", "Last update", "SLA deadline")


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def desk(app):
    """40 tickets of four councils, some urgent, some assigned: more than a page (25) of the inbox."""
    agent = factories.user(Role.AGENT, email="agent@example.org", language="en")
    agent.name = "Laia Puig"
    councils = [factories.council(name) for name in ("Ajuntament de Vic", "Ajuntament de Manlleu",
                                                     "Consell Comarcal d'Osona", "Ajuntament de Tona")]
    for number in range(40):
        ticket = factories.ticket(f"Question {number + 1} about the participatory budget", of=councils[number % 4],
                                  priority=Priority.URGENT if number % 7 == 0 else Priority.NORMAL)
        if number % 3 == 0:
            assign(agent, ticket, agent.id, ticket.created_at)
    db.session.commit()
    return agent.id


def sign_in(browser, live_server, email="agent@example.org"):
    page = browser.new_page(viewport=DESKTOP)
    page.script_errors = []
    page.on("pageerror", lambda error: page.script_errors.append(str(error)))
    page.goto(f"{live_server}/login")
    page.get_by_label("Correu electrònic").fill(email)
    page.get_by_label("Contrasenya").fill(factories.PASSWORD)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.wait_for_load_state()
    return page


def fully_visible(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= DESKTOP["height"] \
        and box["x"] >= 0 and box["x"] + box["width"] <= DESKTOP["width"]


@pytest.mark.browser
def test_at_1920_by_1080_fifteen_tickets_and_every_named_column_show_without_scrolling(app, live_server, browser,
                                                                                        desk):
    page = sign_in(browser, live_server)
    page.goto(f"{live_server}/inbox?view=all")
    rows = page.locator("table.inbox tbody tr[data-ticket]")
    expect(rows).to_have_count(25)
    seen = sum(fully_visible(page, rows.nth(index)) for index in range(rows.count()))
    assert seen >= 15, f"only {seen} rows fit on the screen"
    assert page.evaluate("window.scrollY") == 0
    for name in NAMED_COLUMNS:
        header = page.get_by_role("columnheader", name=name, exact=True)
        expect(header).to_be_visible()
        assert fully_visible(page, header), f"the {name} column is off the screen"
    first = rows.first
    expect(first.get_by_role("link", name=re.compile("Question"))).to_be_visible()
    expect(page.locator("table.inbox tbody .priority-urgent").first).to_have_text("Urgent")
    assert page.locator("table.inbox tbody tr").filter(has_text="Laia Puig").count() > 0
    if SCREENSHOTS:
        page.screenshot(path=SCREENSHOTS)
    assert page.script_errors == []


@pytest.mark.browser
def test_the_columns_and_the_sort_chosen_stay_after_signing_out_and_in(app, live_server, browser, desk):
    page = sign_in(browser, live_server)
    page.goto(f"{live_server}/inbox")
    expect(page.get_by_role("columnheader", name="Requester", exact=True)).to_be_visible()
    expect(page.get_by_role("columnheader", name="Channel", exact=True)).to_have_count(0)
    page.get_by_text("Columns", exact=True).click()
    from tests.tickets.test_shortcuts import axe_violations
    assert axe_violations(page) == []  # the menu open, the filters folded
    page.get_by_role("checkbox", name="Requester", exact=True).uncheck()
    page.get_by_role("checkbox", name="Channel", exact=True).check()
    page.get_by_role("button", name="Save the columns").click()
    expect(page.get_by_text("Columns saved.")).to_be_visible()
    page.get_by_label("Sort").select_option(label="Nearest deadline first")
    page.get_by_role("button", name="Filter", exact=True).click()
    expect(page).to_have_url(re.compile(r"[?&]sort=due"))
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)

    page = sign_in(browser, live_server)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Inbox").click()
    expect(page.get_by_role("columnheader", name="Channel", exact=True)).to_be_visible()
    expect(page.get_by_role("columnheader", name="Requester", exact=True)).to_have_count(0)
    expect(page.get_by_role("columnheader", name="SLA deadline", exact=True)).to_be_visible()
    expect(page.get_by_label("Sort")).to_have_value("due")
    page.get_by_role("navigation", name="Saved views").get_by_role("link", name=re.compile(r"^All \d")).click()
    expect(page.get_by_label("Sort")).to_have_value("due")  # a tab keeps it too
    assert page.script_errors == []


# --- without a browser ---------------------------------------------------------------------------------------

def test_an_agent_keeps_the_columns_ticked_and_junk_names_are_ignored(client, desk):
    client.login("agent@example.org", factories.PASSWORD)
    client.get("/inbox")
    response = client.submit("/inbox/columns", {"columns": ["status", "nonsense", "<script>", "council", "status"],
                                                "next": "/inbox?view=all"})
    assert response.status_code == 302 and response.headers["Location"] == "/inbox?view=all"
    page = text(client.get("/inbox?view=all"))
    headers = re.findall(r'<th scope="col" data-column="(\w+)">', page)
    assert headers == ["subject", "council", "status"]  # in the table's order, once each
    assert "nonsense" not in page and "&lt;script&gt;" not in page
    assert re.search(r'<input checked[^>]*value="council"', page)  # the menu shows the choice
    assert re.search(r'<input id="[^"]*" name="columns" type="checkbox" value="requester"', page)
    db.session.expire_all()
    assert preferences.inbox_columns(db.session.get(User, desk)) == ("council", "status")


def test_ticking_no_column_leaves_the_reference_and_subject(client, desk):
    client.login("agent@example.org", factories.PASSWORD)
    client.get("/inbox")
    client.submit("/inbox/columns", {"next": "/inbox"})
    page = text(client.get("/inbox"))
    assert re.findall(r'<th scope="col" data-column="(\w+)">', page) == ["subject"]
    assert "Question 40 about the participatory budget" in page


def test_a_council_user_cannot_arrange_an_inbox(client, app, desk):
    referent_id = factories.user(Role.COUNCIL_USER, of=factories.council("Ajuntament de Calldetenes"),
                                 email="referent@example.org").id
    client.login("referent@example.org", factories.PASSWORD)
    client.get("/tickets")
    referent = db.session.get(User, referent_id)
    assert client.submit("/inbox/columns", {"columns": ["council"]}).status_code == 403
    assert client.get("/inbox?sort=due").status_code == 403
    with pytest.raises(NotAllowed):
        preferences.choose_inbox_columns(referent, ["council"])
    assert preferences.remember_sort(referent, "due") is False
    db.session.rollback()
    assert db.session.scalars(select(InboxPreference)).all() == []


def test_the_last_sort_is_used_when_the_inbox_is_opened_without_one(client, desk):
    client.login("agent@example.org", factories.PASSWORD)
    assert 'value="-updated" selected' in text(client.get("/inbox"))  # the inbox's own default at first
    client.get("/inbox?sort=due&view=open")
    assert 'value="due" selected' in text(client.get("/inbox?view=mine"))
    assert 'value="created" selected' in text(client.get("/inbox?sort=created"))
    assert 'value="created" selected' in text(client.get("/inbox"))
    # junk is not kept, and a search without a sort is ordered by best match, not by the remembered sort
    assert 'value="-updated" selected' in text(client.get("/inbox?sort=nonsense"))
    assert 'value="created" selected' in text(client.get("/inbox"))
    assert 'value="relevance" selected' in text(client.get("/inbox?q=budget"))
    client.get("/inbox?q=budget&sort=relevance")
    assert 'value="created" selected' in text(client.get("/inbox"))  # "best match" only lasts for its search
    db.session.expire_all()
    assert preferences.remembered_sort(db.session.get(User, desk)) == "created"


def test_the_rarer_filters_fold_away_until_one_is_set(client, desk):
    client.login("agent@example.org", factories.PASSWORD)
    assert '<details class="more-filters">' in text(client.get("/inbox"))
    page = text(client.get("/inbox?priority=urgent&view=all"))
    assert '<details class="more-filters" open>' in page
    assert len(re.findall(r'data-ticket="\d+"', page)) == 6  # tickets 1, 8, 15, 22, 29, 36
