"""Accent-insensitive full-text search, the same on SQLite (FTS5) and PostgreSQL (tsvector + GIN).

Words are lower-cased, stemmed in Catalan and in Spanish (Snowball, through PyStemmer) and folded to
plain ASCII letters before they reach the database, so "accions", "accións" and "Acció" share a term
and both engines only ever compare plain terms. One row per indexed object; the row id encodes the
kind of object, so several domains (tickets, FAQ articles) share the index.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import TYPE_CHECKING

import Stemmer
from sqlalchemy import Float, Integer, Subquery, text
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

TABLE = "search_index"
KINDS = {"ticket": 1, "article": 2}
KIND_BITS = 4
STEMMERS = tuple(Stemmer.Stemmer(language) for language in ("catalan", "spanish"))
_WORD = re.compile(r"[\w·]+")
MAX_QUERY_WORDS = 12


def is_search_table(name: str) -> bool:
    """Tables the index keeps outside the models (FTS5 makes shadow tables too)."""
    return name == TABLE or name.startswith(TABLE + "_")


def include_in_migrations(name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames) -> bool:
    """Alembic's include_name hook: the index is hand-written DDL (FTS5, tsvector), left out of comparisons."""
    table = name if type_ == "table" else (parent_names or {}).get("table_name")
    return not (table and is_search_table(table))


def fold(word: str) -> str:
    return "".join(char for char in unicodedata.normalize("NFKD", word) if not unicodedata.combining(char))


@lru_cache(maxsize=200_000)
def word_terms(word: str) -> tuple[str, ...]:
    """The index terms of one lower-cased word: its stems with and without accents, folded."""
    word = word.replace("·", "")
    plain = fold(word)
    terms = {plain}
    for stemmer in STEMMERS:
        terms.add(fold(stemmer.stemWord(word)))
        terms.add(fold(stemmer.stemWord(plain)))
    return tuple(sorted(term for term in terms if term))


def words(content: str) -> list[str]:
    return _WORD.findall(content.lower())


def document(content: str) -> str:
    """What is stored for ``content``: every term of every word, separated by spaces."""
    return " ".join(term for word in words(content) for term in word_terms(word))


def query_groups(query: str) -> list[tuple[str, ...]]:
    """One group of alternative terms per query word; a match needs one term of every group."""
    groups = list(dict.fromkeys(word_terms(word) for word in words(query)))
    return [group for group in groups if group][:MAX_QUERY_WORDS]


def row_id(kind: str, object_id: int) -> int:
    return (object_id << KIND_BITS) | KINDS[kind]


_COLLECTING = "search_documents"  # the key, in the session's info, of what ``collected`` keeps aside


def replace(session: Session, kind: str, object_id: int, content: str) -> None:
    """Index (or re-index) one object; part of the caller's transaction."""
    if (kept := session.info.get(_COLLECTING)) is not None:
        kept[(kind, object_id)] = content  # the last text of an object indexed twice is the one that counts
        return
    replace_many(session, kind, [(object_id, content)])


@contextmanager
def collected(session: Session) -> Iterator[None]:
    """Keep what is indexed within aside and write it in a few statements, by ``write_collected``,
    before the transaction commits (mail intake indexes a chunk of messages so)."""
    session.info[_COLLECTING] = {}
    try:
        yield
    finally:
        session.info.pop(_COLLECTING, None)


def write_collected(session: Session) -> None:
    """Index what ``collected`` kept aside so far, in the current transaction."""
    kept: dict[tuple[str, int], str] = session.info.get(_COLLECTING) or {}
    for kind in {kind for kind, _ in kept}:
        replace_many(session, kind, [(object_id, content) for (of, object_id), content in kept.items() if of == kind])
    kept.clear()


def replace_many(session: Session, kind: str, items: list[tuple[int, str]]) -> None:
    """Index (or re-index) several objects, given as (id, content), in a few statements."""
    if not items:
        return
    rows = [{"rowid": row_id(kind, object_id), "doc": document(content)} for object_id, content in items]
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text(f"DELETE FROM {TABLE} WHERE rowid = :rowid"), [{"rowid": row["rowid"]} for row in rows])
        session.execute(text(f"INSERT INTO {TABLE} (rowid, content) VALUES (:rowid, :doc)"), rows)
    else:
        session.execute(text(f"INSERT INTO {TABLE} (id, content) VALUES (:rowid, to_tsvector('simple', :doc)) "
                             "ON CONFLICT (id) DO UPDATE SET content = excluded.content"), rows)


def remove(session: Session, kind: str, object_id: int) -> None:
    column = "rowid" if session.get_bind().dialect.name == "sqlite" else "id"
    session.execute(text(f"DELETE FROM {TABLE} WHERE {column} = :rowid"), {"rowid": row_id(kind, object_id)})


def matches(session: Session, kind: str, query: str, every_word: bool = True) -> Subquery | None:
    """A selectable of (object_id, rank) for objects of ``kind`` matching every word of ``query`` (or any
    of them, ranked by how well they match); lower rank is better. None when the query has no words."""
    groups = query_groups(query)
    if not groups:
        return None
    kind_code = KINDS[kind]
    if session.get_bind().dialect.name == "sqlite":
        expression = (" AND " if every_word else " OR ").join(
            "(" + " OR ".join(_quote_fts5(term) for term in group) + ")" for group in groups)
        return text(f"SELECT rowid >> {KIND_BITS} AS object_id, bm25({TABLE}) AS rank FROM {TABLE} "
                    f"WHERE {TABLE} MATCH :expression AND (rowid & {(1 << KIND_BITS) - 1}) = {kind_code}") \
            .bindparams(expression=expression).columns(object_id=Integer, rank=Float).subquery("matches")
    expression = (" & " if every_word else " | ").join(
        "(" + " | ".join(_quote_tsquery(term) for term in group) + ")" for group in groups)
    return text(f"SELECT id >> {KIND_BITS} AS object_id, -ts_rank(content, to_tsquery('simple', :expression)) "
                f"AS rank FROM {TABLE} WHERE content @@ to_tsquery('simple', :expression) "
                f"AND (id & {(1 << KIND_BITS) - 1}) = {kind_code}") \
        .bindparams(expression=expression).columns(object_id=Integer, rank=Float).subquery("matches")


def _quote_fts5(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _quote_tsquery(term: str) -> str:
    return "'" + term.replace("\\", "").replace("'", "''") + "'"
