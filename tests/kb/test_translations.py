"""Every FAQ article the desk ships is in Catalan, Spanish and English; each reader gets theirs (Catalan when an
article lacks it), and seeding again adds the versions an older desk lacks without touching the rest."""
from sqlalchemy import func, select

from helpdesk.extensions import db
from helpdesk.kb import services
from helpdesk.kb.models import Article, ArticleText, ArticleVersion
from helpdesk.kb.seed import ARTICLES, seed_articles
from tests.pages import text


def reader(app, language: str):
    """A visitor who picked ``language`` in the header."""
    client = app.test_client()
    client.submit("/language", {"language": language, "next": "/faq"})
    return client


def test_every_shipped_article_has_its_three_versions(app):
    assert seed_articles() == len(ARTICLES) == 8
    db.session.commit()
    for article in db.session.scalars(select(Article)):
        titles = {item.language: item.title for item in article.translations}
        assert sorted(titles) == ["ca", "en", "es"], article.slug
        assert len(set(titles.values())) == 3, article.slug  # really translated, not copied
    english = {slug: texts["en"] for slug, _, _, texts in ARTICLES}
    # The facts stay the same in English: version, deadlines, phone, address, hours, age.
    assert "Decidim 0.28.5" in english["versions-i-moduls"][1]
    assert "90 days before" in english["renovar-la-sollicitud"][1] and "90, 30 and 7 days" in \
        english["renovar-la-sollicitud"][1] and "**30 more days**" in english["renovar-la-sollicitud"][1]
    assert "934 020 704" in english["formacio"][1] and "suportparticipa311@diba.cat" in english["formacio"][1]
    assert "9:00 to 14:00" in english["formacio"][1] and "15:00 to 17:00" in english["formacio"][1]
    assert "**14 years**" in english["menors-de-14-anys"][1] and "OTPGL" in english["formacio"][1]


def test_each_reader_sees_the_faq_in_their_language(app):
    seed_articles()
    db.session.commit()
    pages = {language: text(reader(app, language).get("/faq/renovar-la-sollicitud"))
             for language in ("ca", "es", "en")}
    assert "Com renovem la plataforma?" in pages["ca"]
    assert "¿Cómo renovamos la plataforma?" in pages["es"]
    assert "How do we renew the platform?" in pages["en"] and "Renewal opens" in pages["en"]
    assert "Com renovem" not in pages["en"]
    assert "Can children under 14 take part?" in text(reader(app, "en").get("/faq"))


def test_an_article_only_in_catalan_is_shown_in_catalan(app):
    services.save_article(None, services.ArticleData("nomes-catala", "service", [], is_published=True,
                                                     texts={"ca": ("Només en català", "Aquest text.")}))
    db.session.commit()
    assert "Només en català" in text(reader(app, "en").get("/faq/nomes-catala"))
    assert "Només en català" in text(reader(app, "es").get("/faq/nomes-catala"))


def test_seeding_an_older_faq_adds_the_english_versions_once_and_keeps_the_teams_edits(app, client):
    # The desk as it was before the English versions: the articles in Catalan and Spanish, one of them edited.
    for slug, category, tags, texts in ARTICLES:
        services.save_article(None, services.ArticleData(slug, category, tags, is_published=True, texts={
            language: texts[language] for language in ("ca", "es")}))
    logo = db.session.scalar(select(Article).where(Article.slug == "logotip-i-adreca"))
    edited = {**{item.language: (item.title, item.body) for item in logo.translations},
              "ca": ("Logotip i adreça", "El text que l'equip ha reescrit.")}
    services.save_article(None, services.ArticleData("logotip-i-adreca", "platform", ["logotip"], is_public=False,
                                                     is_published=True, texts=edited), logo)
    db.session.commit()

    assert seed_articles() == 0
    db.session.commit()
    assert seed_articles() == 0  # again: nothing more
    db.session.commit()
    counts = dict(db.session.execute(select(ArticleText.language, func.count()).group_by(ArticleText.language)).all())
    assert counts == {"ca": 8, "es": 8, "en": 8}
    logo = db.session.scalar(select(Article).where(Article.slug == "logotip-i-adreca"))
    assert logo.text("ca").title == "Logotip i adreça" and logo.text("ca").version == 2
    assert logo.text("en").title == "How do I change the platform's logo or address?"
    assert (logo.tags, logo.is_public) == (["logotip"], False)  # the team's settings stay
    assert db.session.scalar(select(func.count()).select_from(ArticleVersion)) == 8 * 3 + 1
    assert services.find("renew", "en", None)[0].article.slug == "renovar-la-sollicitud"  # the English is indexed
