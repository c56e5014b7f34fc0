"""The FAQ: accent-insensitive search (both databases), suggestions, who sees what, Markdown made safe,
versions, votes, deflections, links in acknowledgements, and a council seeing a suggestion as it types."""
from datetime import timedelta
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from helpdesk.auth.models import Role
from helpdesk.core.models import utcnow
from helpdesk.core.outbox import OutboxMessage
from helpdesk.extensions import db
from helpdesk.kb import services
from helpdesk.kb.models import Article, ArticleEvent
from helpdesk.kb.seed import seed_articles
from helpdesk.mail.intake import ingest
from tests import factories
from tests.pages import text


@pytest.fixture
def faq(app):
    assert seed_articles() == 8
    db.session.commit()


def slugs(found):
    return [item.article.slug for item in found]


def test_search_ignores_accents_and_endings_in_catalan_and_spanish(app, faq):
    assert slugs(services.find("renovació", "ca", None))[0] == "renovar-la-sollicitud"
    assert slugs(services.find("renovacio", "ca", None))[0] == "renovar-la-sollicitud"
    assert "menors-de-14-anys" in slugs(services.find("menor", "ca", None))
    assert slugs(services.find("renovación", "es", None))[0] == "renovar-la-sollicitud"
    found = services.find("LOGOTIP", "es", None)
    assert found[0].text.language == "es" and "<mark>logotipo</mark>" in found[0].snippet.lower()
    assert services.find("xyzzy", "ca", None) == []


def test_suggestions_answer_what_a_council_types(client, app, faq):
    answer = client.get("/faq/suggest", query_string={"q": "No puc canviar el logotip de la plataforma"}).get_json()
    assert 1 <= len(answer) <= 5
    assert answer[0]["url"] == "/faq/logotip-i-adreca" and answer[0]["link"].endswith("/faq/logotip-i-adreca")
    assert client.get("/faq/suggest", query_string={"q": ""}).get_json() == []


def test_suggestions_list_only_the_articles_that_match(client, app, faq):
    def suggested(query):
        return [item["url"] for item in client.get("/faq/suggest", query_string={"q": query}).get_json()]
    # "plataforma" is in nearly every article: it must not bring them all along with the logo's one.
    assert suggested("No puc canviar el logotip de la plataforma") == ["/faq/logotip-i-adreca"]
    assert suggested("Com renovem la plataforma?") == ["/faq/renovar-la-sollicitud"]
    assert sorted(suggested("logotip i formació")) == ["/faq/formacio", "/faq/logotip-i-adreca"]  # two questions
    assert len(suggested("plataforma")) > 1  # a common word alone still finds what has it
    assert suggested("xyzzy plataformes quantiques") == suggested("plataformes")


def test_staff_only_articles_are_hidden_from_councils_and_visitors(client, app, faq):
    services.save_article(None, services.ArticleData("notes-internes", "service", [], is_public=False,
                                                     is_published=True,
                                                     texts={"ca": ("Notes internes del clúster", "Reinicieu el clúster.")}))
    services.save_article(None, services.ArticleData("esborrany", "service", [], is_public=True, is_published=False,
                                                     texts={"ca": ("Esborrany del clúster", "Encara no.")}))
    db.session.commit()
    for who in (None, "council"):
        if who == "council":
            factories.user(Role.COUNCIL_USER, of=factories.council(), email="veina@example.org")
            client.login("veina@example.org", factories.PASSWORD)
        assert client.get("/faq/notes-internes").status_code == 404
        assert client.get("/faq/esborrany").status_code == 404
        assert "Notes internes" not in text(client.get("/faq"))
        assert client.get("/faq/suggest", query_string={"q": "clúster"}).get_json() == []
    with client.session_transaction() as browser_session:
        browser_session.clear()  # signed out
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    assert client.get("/faq/notes-internes").status_code == 200
    assert client.get("/faq/esborrany").status_code == 404  # drafts only in the editor


def test_markdown_is_rendered_and_nothing_runs(client, app):
    services.save_article(None, services.ArticleData("perill", "service", [], is_published=True, texts={"ca": (
        "Perill", "**Negreta** i [un enllaç](https://diba.cat)\n\n<script>alert(1)</script>\n\n"
        "[clic](javascript:alert(2)) <img src=x onerror=alert(3)>")}))
    db.session.commit()
    page = client.get("/faq/perill").get_data(as_text=True)
    assert "<strong>Negreta</strong>" in page and 'href="https://diba.cat"' in page
    body = page[page.index('<div class="article-body">'):page.index("</div>", page.index('<div class="article-body">'))]
    assert "<script" not in body and 'href="javascript:' not in body and "<img" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body  # shown as text, harmless


def test_each_edit_is_kept_and_the_difference_shown(client, app, faq):
    article = db.session.scalar(select(Article).where(Article.slug == "formacio"))
    catalan = article.text("ca")
    body = catalan.body.replace("sessions per als equips", "tallers per als equips")
    services.save_article(None, services.ArticleData(article.slug, article.category, article.tags, True, True,
                                                     texts={"ca": (catalan.title, body),
                                                            "es": (article.text("es").title,
                                                                   article.text("es").body)}), article)
    db.session.commit()
    assert article.text("ca").version == 2 and article.text("es").version == 1  # Spanish unchanged
    article_id = article.id
    factories.user(Role.AGENT, email="agent@example.org")
    client.login("agent@example.org", factories.PASSWORD)
    page = text(client.get(f"/admin/faq/{article_id}/versions/ca"))
    assert "-- **Formació**: sessions per als equips" in page and "+- **Formació**: tallers per als equips" in page


def test_a_translation_can_be_taken_away(app, faq):
    article = db.session.scalar(select(Article).where(Article.slug == "formacio"))
    catalan = article.text("ca")
    services.save_article(None, services.ArticleData(article.slug, article.category, article.tags, True, True,
                                                     texts={"ca": (catalan.title, catalan.body), "es": ("", "")}),
                          article)
    db.session.commit()
    assert [text.language for text in article.translations] == ["ca"]
    assert services.find("ofrecéis", "es", None) == []  # the Spanish words left the index
    assert [item.text.language for item in services.find("formació", "es", None)] == ["ca"]


def test_votes_count_once_per_reader_and_views_are_counted(client, app, faq):
    client.get("/faq/formacio")
    client.get("/faq/formacio")
    client.get("/faq")
    client.submit("/faq/formacio/feedback", {"useful": "no"})
    client.submit("/faq/formacio/feedback", {"useful": "no"})
    article = db.session.scalar(select(Article).where(Article.slug == "formacio"))
    db.session.refresh(article)
    assert (article.views, article.useful_yes, article.useful_no) == (2, 0, 1)


def test_a_suggestion_opened_and_no_ticket_after_it_is_a_deflection(client, app, faq):
    vic = factories.council()
    reader = factories.user(Role.COUNCIL_USER, of=vic, email="llegeix@example.org")
    writer = factories.user(Role.COUNCIL_USER, of=vic, email="escriu@example.org")
    article = db.session.scalar(select(Article).where(Article.slug == "formacio"))
    services.record_view(article, reader, suggested=True)
    services.record_view(article, writer, suggested=True)
    db.session.commit()
    factories.ticket("Formació", of=vic, actor=writer)
    month = utcnow().strftime("%Y-%m")
    assert services.deflections_by_month(utcnow() - timedelta(days=1)) == [(month, 2, 1)]
    assert db.session.scalar(select(ArticleEvent.kind).where(ArticleEvent.user_id == reader.id)) == "suggested"


def test_the_acknowledgement_of_a_new_mail_ticket_links_the_matching_articles(app, faq):
    mail = EmailMessage()
    mail["From"], mail["Subject"], mail["Message-ID"] = "marta@vic.cat", "Volem canviar el logotip", "<l@vic.cat>"
    mail.set_content("Bon dia, com es canvia el logotip?")
    ingest(mail.as_bytes(), "INBOX")
    acknowledgement = db.session.scalar(select(OutboxMessage).where(OutboxMessage.to_addresses == "marta@vic.cat"))
    assert "/faq/logotip-i-adreca" in acknowledgement.body_text


@pytest.mark.browser
def test_a_council_sees_a_suggestion_while_typing(app, live_server, browser, faq):
    vic = factories.council()
    factories.instance(vic)
    factories.user(Role.COUNCIL_USER, of=vic, email="referent@example.org")
    page = browser.new_page()
    page.goto(f"{live_server}/login")
    page.get_by_label("Correu electrònic").fill("referent@example.org")
    page.get_by_label("Contrasenya").fill(factories.PASSWORD)
    page.get_by_role("button", name="Inicia la sessió").click()
    page.wait_for_load_state()
    page.goto(f"{live_server}/tickets/new")
    assert page.locator("form").get_by_role("link", name="preguntes freqüents").get_attribute("href") == "/faq"
    page.get_by_label("Assumpte").press_sequentially("Com renovem la plataforma", delay=20)
    suggestion = page.get_by_role("link", name="Com renovem la plataforma?")
    suggestion.wait_for()
    assert suggestion.get_attribute("href") == "/faq/renovar-la-sollicitud?from=suggestion"
