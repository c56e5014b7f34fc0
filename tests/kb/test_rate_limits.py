"""The FAQ's public endpoints under their limits: suggestions and votes answer 429 with when to come back,
views beyond the limit open the page but are not counted; each address and each account counts on its own."""
import time

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.extensions import db
from helpdesk.kb.models import Article
from helpdesk.kb.seed import seed_articles
from helpdesk.kb.views import COUNTED_VIEWS_PER_HOUR, SUGGESTIONS_PER_MINUTE, VOTES_PER_HOUR
from tests import factories

OTHER_ADDRESS = {"REMOTE_ADDR": "198.51.100.20"}


@pytest.fixture
def faq(app):
    assert seed_articles() == 8
    db.session.commit()


def in_english(client):
    with client.session_transaction() as browser_session:
        browser_session["language"] = "en"


def article(slug):
    db.session.remove()
    return db.session.scalar(select(Article).where(Article.slug == slug))


def test_suggestions_beyond_the_limit_are_refused_with_when_to_ask_again(client, faq):
    in_english(client)
    started, answered = time.monotonic(), 0
    while (refused := client.get("/faq/suggest", query_string={"q": "logotip"})).status_code == 200:
        answered += 1
        assert answered <= 2 * SUGGESTIONS_PER_MINUTE, "never refused"
    # 60 at once, then one more each second (a loaded machine takes a while for the 60).
    assert SUGGESTIONS_PER_MINUTE <= answered <= SUGGESTIONS_PER_MINUTE + 1 + time.monotonic() - started
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    assert refused.get_json() == {"error": "Too many requests from your connection in a short time: nothing was "
                                           "done. Wait 1 second and try again.", "retry_after": 1}
    assert client.get("/faq/suggest", query_string={"q": "logotip"}).mimetype == "application/json"  # JSON always
    other = client.get("/faq/suggest", query_string={"q": "logotip"}, environ_base=OTHER_ADDRESS)
    assert other.status_code == 200 and other.get_json()[0]["url"] == "/faq/logotip-i-adreca"


def test_colleagues_behind_one_address_each_have_their_own_suggestions(app, client, faq):
    for _ in range(SUGGESTIONS_PER_MINUTE + 1):
        client.get("/faq/suggest", query_string={"q": "logotip"})
    vic = factories.council()
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@example.org")
    colleague = app.test_client()
    colleague.login("referent@example.org", factories.PASSWORD)
    assert colleague.get("/faq/suggest", query_string={"q": "logotip"}).status_code == 200


def test_votes_beyond_the_limit_are_refused_even_from_fresh_browser_sessions(app, faq):
    for _ in range(VOTES_PER_HOUR):  # each a new session (cookies thrown away): each vote counts
        reader = app.test_client()
        reader.get("/faq/formacio")
        assert reader.submit("/faq/formacio/feedback", {"useful": "no"}).status_code == 302
    reader = app.test_client()
    in_english(reader)
    reader.get("/faq/formacio")
    refused = reader.submit("/faq/formacio/feedback", {"useful": "no"})
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert 350 <= int(refused.headers["Retry-After"]) <= 360  # one vote every 6 minutes after the first 10
    assert "Wait 6 minutes and try again." in refused.get_data(as_text=True)
    assert article("formacio").useful_no == VOTES_PER_HOUR
    assert reader.submit("/faq/menors-de-14-anys/feedback", {"useful": "yes"}).status_code == 302  # per article
    assert reader.submit("/faq/formacio/feedback", {"useful": "no"}, environ_base=OTHER_ADDRESS).status_code == 302
    assert (article("menors-de-14-anys").useful_yes, article("formacio").useful_no) == (1, VOTES_PER_HOUR + 1)


def test_views_beyond_the_limit_open_the_page_but_are_not_counted(client, faq):
    for _ in range(COUNTED_VIEWS_PER_HOUR + 5):
        assert client.get("/faq/formacio").status_code == 200
    assert article("formacio").views == COUNTED_VIEWS_PER_HOUR
    client.get("/faq/formacio", environ_base=OTHER_ADDRESS)
    client.get("/faq/menors-de-14-anys")
    assert (article("formacio").views, article("menors-de-14-anys").views) == (COUNTED_VIEWS_PER_HOUR + 1, 1)
