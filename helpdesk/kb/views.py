"""The FAQ: public pages (no login) by category and by search, the suggestions the ticket form asks for,
the editor with versions and diffs, and the report of views, votes and deflections."""
from __future__ import annotations

import difflib
from datetime import timedelta

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from helpdesk.auth.access import staff_required
from helpdesk.core import audit, throttle
from helpdesk.core.errors import DomainError
from helpdesk.core.forms import id_argument, show_error
from helpdesk.core.models import transaction_cache, utcnow
from helpdesk.core.templating import describe_field
from helpdesk.core.throttle import rate_limited, reader_or_address
from helpdesk.core.urls import base_url
from helpdesk.extensions import db
from helpdesk.kb import services
from helpdesk.kb.forms import ArticleForm, FeedbackForm
from helpdesk.kb.models import CATEGORIES, Article, ArticleText, ArticleVersion
from helpdesk.tickets import mailing

bp = Blueprint("kb", __name__)
SUGGESTIONS = 5
# The public pages' limits, per signed-in account (colleagues often share an office's address) or else per
# address; throttle allows that many at once, then one every period / limit. Suggestions are asked 300 ms after
# someone stops typing: 60 at once, then one a second, is more than a person types. A browser session votes
# once per article; 10 an hour per article stops stuffing votes by throwing the cookie away. Views beyond 10
# an hour per article are not counted (the page still opens): reloading cannot push an article up the report.
SUGGESTIONS_PER_MINUTE = 60
VOTES_PER_HOUR = 10
COUNTED_VIEWS_PER_HOUR = 10

describe_field("slug", _l("Address"))
describe_field("tags", _l("Tags"))
describe_field("is_public", _l("Public"))
describe_field("is_published", _l("Published"))
describe_field("reviewed_on", _l("Last reviewed"))
for _language, _name in (("ca", _l("Catalan")), ("es", _l("Spanish")), ("en", _l("English"))):
    describe_field(f"text_{_language}", _name)


def language() -> str:
    return str(get_locale() or "ca")


def _reader():
    return current_user if current_user.is_authenticated else None


def _article(slug: str) -> Article:
    return db.first_or_404(select(Article).where(Article.slug == slug, services.visible(_reader())))


@bp.get("/faq")
def faq():
    query = request.args.get("q", "").strip()[:200]
    found = services.find(query, language(), _reader()) if query else []
    articles = db.session.scalars(select(Article).where(services.visible(_reader())).order_by(Article.id)).all()
    by_category = {category: [item for item in articles if item.category == category] for category in CATEGORIES}
    return render_template("kb/faq.html", query=query, found=found, by_category=by_category,
                           labels=services.CATEGORY_LABELS, language=language())


@bp.get("/faq/<slug>")
def article(slug: str):
    item = _article(slug)
    if throttle.hit(f"faq-view:{reader_or_address()}:{item.id}", COUNTED_VIEWS_PER_HOUR, timedelta(hours=1),
                    utcnow()).allowed:
        services.record_view(item, _reader(), suggested=request.args.get("from") == "suggestion")
        db.session.commit()
    text = item.text(language())
    return render_template("kb/article.html", item=item, text=text, body=Markup(services.render(text.body)),
                           form=FeedbackForm(), voted=item.id in session.get("kb_voted", []),
                           labels=services.CATEGORY_LABELS)


def _reader_and_article() -> str:
    return f"{reader_or_address()}:{request.view_args['slug'] if request.view_args else ''}"


@bp.post("/faq/<slug>/feedback")
@rate_limited("faq-feedback", limit=VOTES_PER_HOUR, per=timedelta(hours=1), by=_reader_and_article)
def feedback(slug: str):
    item = _article(slug)
    if not FeedbackForm().validate_on_submit():
        abort(400)
    voted = session.get("kb_voted", [])
    if item.id not in voted:  # one vote per article and browser session
        services.vote(item, _reader(), request.form.get("useful") == "yes")
        db.session.commit()
        session["kb_voted"] = [*voted, item.id][-200:]
    flash(_("Thank you: your answer helps us improve the FAQ."), "success")
    return redirect(url_for("kb.article", slug=slug))


@bp.get("/faq/suggest")
@rate_limited("faq-suggest", limit=SUGGESTIONS_PER_MINUTE, per=timedelta(minutes=1), by=reader_or_address,
              json=True)
def suggest():
    """Up to five articles for what someone is typing (JSON), for the ticket form and the reply box."""
    query = request.args.get("q", "").strip()[:500]
    found = services.find(query, language(), _reader(), limit=SUGGESTIONS, every_word=False) if query else []
    return jsonify([{"title": item.text.title, "url": url_for("kb.article", slug=item.article.slug),
                     "link": public_url(item.article.slug), "snippet": item.snippet} for item in found])


def public_url(slug: str) -> str:
    return f"{base_url()}/faq/{slug}"


@bp.get("/admin/faq")
@staff_required
def admin_index():
    articles = db.session.scalars(select(Article).order_by(Article.category, Article.id)).all()
    return render_template("kb/admin_index.html", articles=articles, labels=services.CATEGORY_LABELS)


@bp.route("/admin/faq/new", methods=["GET", "POST"], defaults={"article_id": None})
@bp.route("/admin/faq/<int:article_id>", methods=["GET", "POST"])
@staff_required
def edit(article_id: int | None):
    item = db.get_or_404(Article, article_id) if article_id else None
    form = ArticleForm()
    form.category.choices = [(key, label) for key, label in services.CATEGORY_LABELS.items()]
    if request.method == "GET" and item is not None:
        form.slug.data, form.category.data, form.tags.data = item.slug, item.category, ", ".join(item.tags)
        form.is_public.data, form.is_published.data, form.reviewed_on.data = (item.is_public, item.is_published,
                                                                              item.reviewed_on)
        for text in item.translations:
            getattr(form, f"title_{text.language}").data = text.title
            getattr(form, f"body_{text.language}").data = text.body
    if form.validate_on_submit():
        texts = {code: (getattr(form, f"title_{code}").data or "", getattr(form, f"body_{code}").data or "")
                 for code in services.LANGUAGES}
        try:
            item = services.save_article(current_user, services.ArticleData(
                form.slug.data, form.category.data, (form.tags.data or "").split(","), form.is_public.data,
                form.is_published.data, form.reviewed_on.data, texts), item)
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_("Article saved."), "success")
            return redirect(url_for("kb.edit", article_id=item.id))
    return render_template("kb/edit.html", form=form, item=item, trail=audit.trail(item) if item else []), \
        422 if form.errors else 200


@bp.get("/admin/faq/<int:article_id>/versions/<language>")
@staff_required
def versions(article_id: int, language: str):
    item = db.get_or_404(Article, article_id)
    text = db.first_or_404(select(ArticleText).where(ArticleText.article_id == item.id,
                                                     ArticleText.language == language))
    history = db.session.scalars(select(ArticleVersion).where(ArticleVersion.text_id == text.id)
                                 .order_by(ArticleVersion.version.desc())).all()
    shown = id_argument(request.args, "version") or text.version
    current = next((version for version in history if version.version == shown), None)
    previous = next((version for version in history if version.version == shown - 1), None)
    diff = []
    if current is not None and previous is not None:
        diff = list(difflib.unified_diff(f"{previous.title}\n{previous.body}".splitlines(),
                                         f"{current.title}\n{current.body}".splitlines(),
                                         f"v{previous.version}", f"v{current.version}", lineterm=""))
    return render_template("kb/versions.html", item=item, text=text, history=history, current=current,
                           previous=previous, diff=diff)


@bp.get("/admin/faq/report")
@staff_required
def report():
    most_viewed = db.session.scalars(select(Article).order_by(Article.views.desc()).limit(10)).all()
    voted = db.session.scalars(select(Article).where((Article.useful_yes + Article.useful_no) > 0)).all()
    least_useful = sorted(voted, key=lambda item: (item.useful_yes / (item.useful_yes + item.useful_no),
                                                   -item.useful_no))[:10]
    months = services.deflections_by_month(utcnow() - timedelta(days=366))
    return render_template("kb/report.html", most_viewed=most_viewed, least_useful=least_useful, months=months,
                           language=language())


@mailing.acknowledgement_links.connect
def _articles_for_acknowledgement(ticket, links: list, language: str | None = None) -> None:
    """The acknowledgement of a new e-mail ticket lists the public articles that best match its subject, in
    the acknowledgement's language."""
    language, query = language or current_app.config["DEFAULT_LANGUAGE"], services.longer_words(ticket.subject)
    found = transaction_cache("acknowledgement_links")  # mail import acknowledges many tickets at once
    if (query, language) not in found:
        found[query, language] = [(text.title, public_url(text.article.slug))
                                  for text in services.best_texts(query, language, None, limit=3, every_word=False)]
    links.extend(found[query, language])
