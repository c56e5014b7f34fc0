"""FAQ articles, their language versions, every edit kept, and what readers did with them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.core.models import TimestampMixin, UTCDateTime, utcnow
from helpdesk.extensions import db

TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 20000
CATEGORIES = ("platform", "administration", "participation", "service")


class Article(TimestampMixin, db.Model):
    __tablename__ = "kb_articles"
    AUDITED = ("slug", "category", "tags", "is_public", "is_published", "reviewed_on")

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    category: Mapped[str] = mapped_column(String(32), index=True)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    is_public: Mapped[bool] = mapped_column(default=True)  # else staff only
    is_published: Mapped[bool] = mapped_column(default=False)  # else a draft
    reviewed_on: Mapped[date | None] = mapped_column(Date)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    views: Mapped[int] = mapped_column(default=0)
    useful_yes: Mapped[int] = mapped_column(default=0)
    useful_no: Mapped[int] = mapped_column(default=0)

    author = relationship("User")
    translations = relationship("ArticleText", back_populates="article", order_by="ArticleText.language")

    def text(self, language: str) -> ArticleText | None:
        """The version in ``language``, else Catalan, else any."""
        by_language = {item.language: item for item in self.translations}
        return by_language.get(language) or by_language.get("ca") or next(iter(by_language.values()), None)


class ArticleText(db.Model):
    """One language version of an article (what the search index holds)."""

    __tablename__ = "kb_article_texts"
    __table_args__ = (UniqueConstraint("article_id", "language", name="uq_kb_article_texts_article_language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    language: Mapped[str] = mapped_column(String(2))
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    body: Mapped[str] = mapped_column(Text)  # Markdown
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    article = relationship(Article, back_populates="translations")


class ArticleVersion(db.Model):
    """Each edit of a language version, kept whole."""

    __tablename__ = "kb_article_versions"
    __table_args__ = (UniqueConstraint("text_id", "version", name="uq_kb_article_versions_text_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    text_id: Mapped[int] = mapped_column(ForeignKey("kb_article_texts.id"), index=True)
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(TITLE_MAX_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    author = relationship("User")


class ArticleEvent(db.Model):
    """A reading: a view (``suggested`` when it came from the suggestions on the ticket form) or a vote."""

    __tablename__ = "kb_article_events"
    __table_args__ = (Index("ix_kb_article_events_kind_created", "kind", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # view, suggested, useful, not_useful
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
