"""The knowledge base's rules: writing articles (Markdown, sanitised; each edit kept), who sees what,
searching with highlighted snippets, counting views, votes and deflections."""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from markdown_it import MarkdownIt
from sqlalchemy import and_, delete, select

from helpdesk.auth.models import User
from helpdesk.core import audit, search
from helpdesk.core.errors import DomainError, NotAllowed
from helpdesk.core.html import sanitize_html
from helpdesk.core.models import utcnow
from helpdesk.extensions import db
from helpdesk.kb.models import (BODY_MAX_LENGTH, CATEGORIES, TITLE_MAX_LENGTH, Article, ArticleEvent, ArticleText,
                                ArticleVersion)
from helpdesk.tickets.models import Ticket

LANGUAGES = ("ca", "es", "en")
CATEGORY_LABELS = {"platform": _l("The platform"), "administration": _l("Administering it"),
                   "participation": _l("Participation"), "service": _l("The service")}
_SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False})
DEFLECTION_WINDOW = timedelta(hours=1)


@dataclass
class ArticleData:
    slug: str
    category: str
    tags: list[str] = field(default_factory=list)
    is_public: bool = True
    is_published: bool = False
    reviewed_on: date | None = None
    texts: dict[str, tuple[str, str]] = field(default_factory=dict)  # language → (title, Markdown)


def render(markdown: str) -> str:
    """Markdown as HTML, sanitised (raw HTML in the source is shown as text, not run)."""
    return sanitize_html(_markdown.render(markdown or ""))


def plain(markdown: str) -> str:
    """The words of a Markdown text, for the index and the snippets."""
    rendered = re.sub(r"</?(p|li|ul|ol|h\d|pre|blockquote|br|hr)\b[^>]*>", " ", _markdown.render(markdown or ""))
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", rendered))).strip()


def require_editor(actor: User | None) -> None:
    if actor is not None and not actor.is_staff:
        raise NotAllowed(_l("Only the support team writes FAQ articles."))


def save_article(actor: User | None, data: ArticleData, article: Article | None = None) -> Article:
    """Create or change an article; each language version that changes is kept as a new version."""
    require_editor(actor)
    slug = data.slug.strip().lower()
    if not _SLUG.match(slug) or len(slug) > 100:
        raise DomainError(_l("Use lower-case letters, digits and hyphens, such as logotip-i-adreca."), "slug")
    other = db.session.scalar(select(Article).where(Article.slug == slug))
    if other is not None and other is not article:
        raise DomainError(_l("Another article already has this address."), "slug")
    if data.category not in CATEGORIES:
        raise DomainError(_l("Unknown value “%(value)s”.", value=data.category), "category")
    texts = {language: (" ".join(title.split()), body.strip()) for language, (title, body) in data.texts.items()
             if language in LANGUAGES and (title.strip() or body.strip())}
    if "ca" not in texts:
        raise DomainError(_l("Write the Catalan version first."), "title_ca")
    for language, (title, body) in texts.items():
        if not title or len(title) > TITLE_MAX_LENGTH:
            raise DomainError(_l("Give a title (at most %(count)d characters).", count=TITLE_MAX_LENGTH),
                              f"title_{language}")
        if not body or len(body) > BODY_MAX_LENGTH:
            raise DomainError(_l("Write the text (at most %(count)d characters).", count=BODY_MAX_LENGTH),
                              f"body_{language}")
    before = audit.snapshot(article, Article.AUDITED) if article else {}
    if article is None:
        article = Article(author_id=actor.id if actor else None, views=0, useful_yes=0, useful_no=0)
        db.session.add(article)
    article.slug, article.category, article.is_public, article.is_published = (
        slug, data.category, data.is_public, data.is_published)
    article.tags = [tag.strip().lower() for tag in data.tags if tag.strip()][:20]
    article.reviewed_on = data.reviewed_on or utcnow().astimezone(ZoneInfo(current_app.config["TIMEZONE"])).date()
    article.updated_at = utcnow()
    db.session.flush()
    existing = {item.language: item for item in article.translations}
    changes = audit.diff(before, audit.snapshot(article, Article.AUDITED))
    for language, (title, body) in texts.items():
        current = existing.get(language)
        if current is not None and (current.title, current.body) == (title, body):
            continue
        if current is None:
            current = ArticleText(article=article, language=language, title=title, body=body, version=1)
            db.session.add(current)
        else:
            current.title, current.body, current.version = title, body, current.version + 1
        current.updated_at = utcnow()
        db.session.flush()
        db.session.add(ArticleVersion(text_id=current.id, version=current.version, title=title, body=body,
                                      author_id=actor.id if actor else None))
        search.replace(db.session, "article", current.id, f"{title}\n{' '.join(article.tags)}\n{plain(body)}")
        changes[f"text_{language}"] = {"before": None, "after": f"v{current.version}"}
    for language, current in existing.items():
        if language not in texts:  # a translation taken away
            search.remove(db.session, "article", current.id)
            db.session.execute(delete(ArticleVersion).where(ArticleVersion.text_id == current.id))
            db.session.delete(current)
            changes[f"text_{language}"] = {"before": f"v{current.version}", "after": None}
    audit.record(actor, "updated" if before else "created", article, changes)
    return article


def visible(user) -> object:
    """The query condition for the articles ``user`` (None when anonymous) may read."""
    if user is not None and getattr(user, "is_authenticated", False) and user.is_staff:
        return Article.is_published
    return and_(Article.is_published, Article.is_public)


@dataclass(frozen=True)
class Found:
    article: Article
    text: ArticleText
    snippet: str  # HTML: escaped text with <mark> around the matching words


def find(query: str, language: str, user, limit: int = 20, every_word: bool = True) -> list[Found]:
    """Articles matching every word of ``query`` (or, for suggestions, any of its longer words), accents
    and endings aside, best first, shown in ``language`` when they have it."""
    if not every_word:
        query = longer_words(query)
    return [Found(text.article, text, snippet(plain(text.body), query))
            for text in best_texts(query, language, user, limit, every_word)]


def longer_words(text: str) -> str:
    """The words of ``text`` worth suggesting articles by (any of them may match): not the short ones, nor
    numbers (a year or a reference matches articles by chance)."""
    return " ".join(word for word in search.words(text) if len(word) > 3 and not word.isdigit())


def best_texts(query: str, language: str, user, limit: int, every_word: bool = True) -> list[ArticleText]:
    """``find`` without the snippets: the matching articles' texts, in ``language`` when they have it."""
    matching = search.matches(db.session, "article", query, every_word)
    if matching is None:
        return []
    rows = db.session.execute(
        select(ArticleText, matching.c.rank).join(matching, matching.c.object_id == ArticleText.id)
        .join(Article, Article.id == ArticleText.article_id).where(visible(user))
        .order_by(matching.c.rank, (ArticleText.language != language), Article.id).limit(limit * 3)).all()
    if not every_word:
        weights = relevance(query, user)
        rows = sorted((row for row in rows if weights.get(row[0].article_id)),
                      key=lambda row: -weights[row[0].article_id])  # stable: the engine's order within a weight
    results, seen = [], set()
    for text, _rank in rows:
        if text.article_id in seen:
            continue
        seen.add(text.article_id)
        results.append(text.article.text(language) or text)
        if len(results) == limit:
            break
    return results


def relevance(query: str, user) -> dict[int, float]:
    """For suggestions, the articles that really match ``query`` (any of its words), by article id: each word
    weighs more the fewer articles have it (none when most have it: "plataforma" names no article), and an
    article is kept only with at least half the weight of the best one, so one match is not padded with
    articles that share a common word."""
    visible_ids = set(db.session.scalars(select(Article.id).where(visible(user))))
    having: dict[str, set[int]] = {}
    for word in list(dict.fromkeys(search.words(query)))[:search.MAX_QUERY_WORDS]:
        matching = search.matches(db.session, "article", word)
        if matching is not None:
            having[word] = set(db.session.scalars(
                select(ArticleText.article_id).join(matching, matching.c.object_id == ArticleText.id))) & visible_ids
    total = len(visible_ids)
    informative = {word: ids for word, ids in having.items() if ids and len(ids) * 2 <= total}
    if not informative:  # every word is common (or the FAQ is tiny): the words themselves are what was asked
        informative = {word: ids for word, ids in having.items() if ids}
    weights: dict[int, float] = {}
    for ids in informative.values():
        for article_id in ids:
            weights[article_id] = weights.get(article_id, 0.0) + math.log((total + 1) / len(ids))
    best = max(weights.values(), default=0.0)
    return {article_id: weight for article_id, weight in weights.items() if weight > 0 and weight * 2 >= best}


def snippet(content: str, query: str, width: int = 180) -> str:
    """The part of ``content`` around the first matching word, escaped, matches wrapped in <mark>."""
    wanted = {term for group in search.query_groups(query) for term in group}
    pieces = re.split(r"([\w·]+)", content)
    hits = [index for index, piece in enumerate(pieces) if index % 2 and set(search.word_terms(piece)) & wanted]
    start_char = sum(len(piece) for piece in pieces[:hits[0]]) if hits else 0
    begin = max(0, start_char - width // 3)
    out, position = [], 0
    for index, piece in enumerate(pieces):
        end = position + len(piece)
        if end > begin and position < begin + width:
            escaped = html.escape(piece)
            out.append(f"<mark>{escaped}</mark>" if index in hits else escaped)
        position = end
    text = "".join(out).strip()
    return ("… " if begin else "") + text + (" …" if begin + width < len(content) else "")


def record_view(article: Article, user, suggested: bool = False) -> None:
    article.views += 1
    db.session.add(ArticleEvent(article_id=article.id, kind="suggested" if suggested else "view",
                                user_id=user.id if user is not None and getattr(user, "is_authenticated", False)
                                else None))


def vote(article: Article, user, useful: bool) -> None:
    if useful:
        article.useful_yes += 1
    else:
        article.useful_no += 1
    db.session.add(ArticleEvent(article_id=article.id, kind="useful" if useful else "not_useful",
                                user_id=user.id if user is not None and getattr(user, "is_authenticated", False)
                                else None))


def deflections_by_month(since: datetime) -> list[tuple[str, int, int]]:
    """(month, suggested articles opened, of them not followed by a ticket from that user within an hour)."""
    events = db.session.execute(select(ArticleEvent.user_id, ArticleEvent.created_at).where(
        ArticleEvent.kind == "suggested", ArticleEvent.created_at >= since, ArticleEvent.user_id.is_not(None))
        .order_by(ArticleEvent.created_at)).all()
    users = {user_id for user_id, _ in events}
    filed: dict[int, list[datetime]] = {}
    if users:
        emails = dict(db.session.execute(select(User.id, User.email).where(User.id.in_(users))).all())
        for email, created_at in db.session.execute(select(Ticket.requester_email, Ticket.created_at).where(
                Ticket.created_at >= since, Ticket.requester_email.in_(list(emails.values())))):
            for user_id, address in emails.items():
                if address == email:
                    filed.setdefault(user_id, []).append(created_at)
    months: dict[str, list[int]] = {}
    for user_id, opened_at in events:
        month = opened_at.strftime("%Y-%m")
        counts = months.setdefault(month, [0, 0])
        counts[0] += 1
        if not any(opened_at <= moment <= opened_at + DEFLECTION_WINDOW for moment in filed.get(user_id, [])):
            counts[1] += 1
    return [(month, opened, deflected) for month, (opened, deflected) in sorted(months.items(), reverse=True)]
