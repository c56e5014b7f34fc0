"""The agents' keyboard shortcuts in Chromium: j/k/Enter in the inbox, / to search, ? to list them, r, n, a and e on
a ticket, Ctrl+Enter (⌘+Enter) to send; a letter typed in a field stays a letter, and no script error on the way."""
import re

import pytest
from playwright.sync_api import expect

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.states import MessageKind, TicketStatus
from tests import factories

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(app):
    agent = factories.user(Role.AGENT, email="agent@example.org", language="en")
    agent.name = "Laia Puig"
    council = factories.council("Ajuntament de Vic")
    numbers = [factories.ticket(f"Question {number} about the maps module", of=council).id for number in range(1, 6)]
    db.session.commit()
    return numbers  # #5 is the newest: the inbox's first row


def sign_in(browser, live_server):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.script_errors = []
    page.on("pageerror", lambda error: page.script_errors.append(str(error)))
    page.goto(f"{live_server}/login")
    page.get_by_label("Correu electrònic").fill("agent@example.org")
    page.get_by_label("Contrasenya").fill(factories.PASSWORD)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.wait_for_load_state()
    return page


def rest(page):
    """Take the focus out of any field, as a click on the page's title would."""
    page.locator("h1").click()


def axe_violations(page) -> list[str]:
    """What axe-core (WCAG 2.1 A and AA) finds on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe
    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a",
                                                                            "wcag21aa"]}})
    return [f"{item['id']}: {[node['target'] for node in item['nodes'][:3]]}"
            for item in results.response["violations"]]


def ticket(number: int) -> Ticket:
    db.session.expire_all()
    return db.session.get(Ticket, number)


def test_in_the_inbox_j_and_k_move_enter_opens_slash_searches_and_question_mark_lists(app, live_server, browser,
                                                                                      desk):
    page = sign_in(browser, live_server)
    page.goto(f"{live_server}/inbox")
    rows = page.locator("table.inbox tbody tr[data-ticket]")
    expect(rows).to_have_count(5)
    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile(r"\bselected\b"))
    expect(rows.nth(0).get_by_role("link", name="Question 5 about the maps module")).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(rows.nth(2)).to_have_class(re.compile(r"\bselected\b"))
    expect(rows.nth(0)).not_to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("k")
    expect(rows.nth(1)).to_have_attribute("aria-current", "true")
    expect(rows.nth(1).get_by_role("link")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server}/tickets/{desk[3]}")
    expect(page.locator("h1")).to_contain_text("Question 4 about the maps module")

    page.goto(f"{live_server}/inbox")
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox", name="Search")).to_be_focused()
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("")  # the slash itself is not typed
    page.keyboard.type("j?")  # in the search box these are letters, not shortcuts
    expect(page.get_by_role("searchbox", name="Search")).to_have_value("j?")
    expect(page.locator("tr.selected")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)
    rest(page)
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Next ticket")
    expect(dialog).to_contain_text("Assign to me")
    assert axe_violations(page) == []
    page.keyboard.press("j")  # the list is modal: nothing behind it moves
    expect(page.locator("tr.selected")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert page.script_errors == []


def test_on_a_ticket_r_n_a_and_e_and_ctrl_enter_sends_the_reply(app, live_server, browser, desk):
    number = desk[0]
    page = sign_in(browser, live_server)
    page.goto(f"{live_server}/tickets/{number}")
    reply = page.get_by_label("Reply", exact=True)
    page.keyboard.press("r")
    expect(reply).to_be_focused()
    expect(reply).to_have_value("")  # the r only moved the focus
    page.keyboard.type("j")  # typed in the reply box: a j, nothing else
    expect(reply).to_have_value("j")
    expect(page).to_have_url(f"{live_server}/tickets/{number}")
    reply.fill("")

    rest(page)
    note = page.get_by_label("Internal note", exact=True)
    expect(note).to_be_hidden()  # folded away until asked for
    page.keyboard.press("n")
    expect(note).to_be_visible()
    expect(note).to_be_focused()
    expect(note).to_have_value("")

    rest(page)
    page.keyboard.press("a")
    expect(page.get_by_text(f"Ticket #{number} is yours.")).to_be_visible()
    assert ticket(number).assignee.email == "agent@example.org"
    expect(page.get_by_role("button", name="Assign to me")).to_have_count(0)

    rest(page)
    page.keyboard.press("e")
    expect(page.get_by_text(f"Ticket #{number} saved.")).to_be_visible()
    assert ticket(number).status is TicketStatus.RESOLVED

    page.get_by_label("Reply", exact=True).fill("It works again: the maps module was updated.")
    page.keyboard.press("Control+Enter")
    expect(page.get_by_text(f"Reply added to #{number}.")).to_be_visible()
    expect(page.locator("ol.thread")).to_contain_text("It works again: the maps module was updated.")
    page.keyboard.press("n")
    page.get_by_label("Internal note", exact=True).fill("Told the council by phone too.")
    page.keyboard.press("Meta+Enter")  # ⌘+Enter, as on a Mac
    expect(page.get_by_text("Internal note added.")).to_be_visible()
    kinds = [message.kind for message in ticket(number).messages]
    assert kinds.count(MessageKind.REPLY) == 1 and kinds.count(MessageKind.NOTE) == 1
    assert page.script_errors == []


def test_shortcuts_never_fire_in_fields_nor_with_alt_ctrl_or_meta(app, live_server, browser, desk):
    number = desk[0]
    page = sign_in(browser, live_server)
    page.goto(f"{live_server}/tickets/{number}")
    page.get_by_label("Subject", exact=True).press("End")
    page.keyboard.type(" ae")  # in the subject field: letters, no assigning nor resolving
    expect(page.get_by_label("Subject", exact=True)).to_have_value("Question 1 about the maps module ae")
    rest(page)
    page.keyboard.press("Alt+a")
    page.keyboard.press("Control+e")
    page.keyboard.press("Meta+r")
    expect(page.get_by_label("Reply", exact=True)).not_to_be_focused()
    page.wait_for_timeout(300)
    assert ticket(number).assignee_id is None and ticket(number).status is TicketStatus.NEW
    assert page.script_errors == []
