"""Every paged list, walked page by page through its own "Next" links with more than three pages of rows:
the filters stay, each page shows other rows, and page numbers past the end or not numbers never fail."""
import re
from datetime import timedelta

import pytest

from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.tickets.models import HeldMail
from helpdesk.tickets.states import Priority
from tests import factories

PAGE_SIZE = 2


@pytest.fixture
def small_pages(app):
    app.config["PAGE_SIZE"] = PAGE_SIZE


def walk(client, url):
    """The pages reached from ``url`` by following rel=next, each as its HTML."""
    pages = [client.get(url).get_data(as_text=True)]
    while (found := re.search(r'<a href="([^"]+)" rel="next"', pages[-1])) and len(pages) < 20:
        pages.append(client.get(found.group(1).replace("&amp;", "&")).get_data(as_text=True))
    return pages


def rows(page, pattern):
    return re.findall(pattern, page)


def check_walk(client, url, pattern, expected_pages, kept=()):
    pages = walk(client, url)
    assert len(pages) == expected_pages
    seen = [rows(page, pattern) for page in pages]
    assert all(seen) and len({item for items in seen for item in items}) == sum(map(len, seen))  # no row twice
    for number, page in enumerate(pages, 1):
        assert re.search(rf"\b{number}\D+{expected_pages}\b", re.search(r'class="pager".*?</nav>', page, re.S).group(0))
    next_link = re.search(r'<a href="([^"]+)" rel="next"', pages[-2]).group(1)
    for parameter in kept:
        assert parameter in next_link.replace("&amp;", "&")
    past = client.get(url + ("&" if "?" in url else "?") + "page=999").get_data(as_text=True)
    assert rows(past, pattern) == seen[-1]  # past the end: the last page
    junk = client.get(url + ("&" if "?" in url else "?") + "page=abc").get_data(as_text=True)
    assert rows(junk, pattern) == seen[0]
    return seen


def test_the_inbox_keeps_its_filter_and_sort_on_every_page(app, client, small_pages):
    vic = factories.council(name="Ajuntament de Vic")
    for number in range(7):
        factories.ticket(f"Consulta urgent {number}", of=vic, priority=Priority.HIGH)
    for number in range(3):
        factories.ticket(f"Consulta normal {number}", of=vic)
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    seen = check_walk(client, "/inbox?view=all&priority=high&sort=created", r"Consulta (urgent \d)", 4,
                      kept=("priority=high", "sort=created", "view=all"))
    assert sum(map(len, seen)) == 7  # the filter holds on every page: no normal one


def test_a_council_user_pages_through_its_own_tickets_only(app, client, small_pages):
    vic, manresa = factories.council(name="Ajuntament de Vic"), factories.council(name="Ajuntament de Manresa")
    for number in range(7):
        factories.ticket(f"De Vic {number}", of=vic)
        factories.ticket(f"De Manresa {number}", of=manresa)
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@vic.cat")
    client.login("referent@vic.cat", factories.PASSWORD)
    pages = walk(client, "/tickets")
    assert len(pages) == 4 and not any("De Manresa" in page for page in pages)
    assert sum(len(rows(page, r"De Vic \d")) for page in pages) == 7


def test_councils_users_and_held_mail_page_with_their_filters(app, client, small_pages):
    for number in range(7):
        factories.council(name=f"Ajuntament de Sant Prova {number}")
    factories.council(name="Consell Comarcal d'Osona")
    store_sha = "0" * 64
    now = utcnow()
    for number in range(13):
        db.session.add(HeldMail(kind="quarantined", mailbox="INBOX", subject=f"Missatge trencat {number}",
                                reason="unreadable", raw_sha256=store_sha, size=10,
                                received_at=now - timedelta(minutes=number)))
    db.session.commit()
    for number in range(5):
        factories.user(Role.AGENT, email=f"agent{number}@example.org")
    factories.user(Role.ADMIN, email="admin@example.org")
    client.login("admin@example.org", factories.PASSWORD)
    councils = check_walk(client, "/councils?q=sant", r"Sant Prova (\d)", 4, kept=("q=sant",))
    assert sum(map(len, councils)) == 7
    check_walk(client, "/admin/mail/quarantined", r"Missatge trencat (\d+)", 4)
    check_walk(client, "/admin/users", r"(agent\d@example.org|admin@example.org)", 3)
