"""Cursor pagination: the cursor is opaque to clients (base64 of the sort's name and the last row's sort key
and id), so a page never shifts when rows are added before it, and each page is one indexed range scan."""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, and_, or_

from helpdesk.api.problems import ApiProblem, field_error
from helpdesk.core.validation import LARGEST_NUMBER
from helpdesk.extensions import db


@dataclass(frozen=True)
class Key:
    """One column of a sort: its expression, its direction, how its value is written into the cursor."""

    column: Any
    descending: bool = False
    kind: str = "int"  # "int", "datetime" or "str"

    def value_of(self, row: Any, attribute: str) -> Any:
        value = getattr(row, attribute)
        return value.isoformat() if self.kind == "datetime" and value is not None else value

    def parse(self, value: Any) -> Any:
        if self.kind == "datetime":
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:  # the desk writes aware times only; a naive one would fail in the query
                raise ValueError("not a time the desk wrote")
            return moment
        if self.kind == "int" and (not isinstance(value, int) or isinstance(value, bool)
                                   or abs(value) > LARGEST_NUMBER):  # beyond an integer column: a 5xx
            raise ValueError("not a whole number an id can be")
        if self.kind == "str" and not isinstance(value, str):
            raise ValueError("not a string")
        return value


def _bad_cursor() -> ApiProblem:
    message = _("This cursor is not one the desk gave for this list and order: start again without it.")
    return ApiProblem(400, message, slug="invalid-cursor", errors=[field_error("cursor", message)])


def encode(name: str, values: Sequence[Any]) -> str:
    raw = json.dumps([name, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, name: str, keys: Sequence[Key]) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, list) or len(data) != len(keys) + 1 or data[0] != name:
            raise ValueError("another list's cursor")
        return [key.parse(value) for key, value in zip(keys, data[1:])]
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise _bad_cursor() from None


def page(statement: Select, name: str, keys: Sequence[tuple[Key, str]], cursor: str | None,
         limit: int) -> tuple[list[Any], str | None]:
    """The rows of ``statement`` after ``cursor`` in the order of ``keys`` (each a Key and the attribute of a
    row that holds its value; the last one unique), at most ``limit``, and the cursor of the next page."""
    columns = [key for key, _attribute in keys]
    if cursor:
        values = decode(cursor, name, columns)
        # (a, b) after (x, y): a beyond x, or a equal to x and b beyond y …
        alternatives = []
        for index, key in enumerate(columns):
            beyond = key.column < values[index] if key.descending else key.column > values[index]
            equal = [columns[before].column == values[before] for before in range(index)]
            alternatives.append(and_(*equal, beyond))
        statement = statement.where(or_(*alternatives))
    order = [key.column.desc() if key.descending else key.column.asc() for key in columns]
    rows = list(db.session.scalars(statement.order_by(None).order_by(*order).limit(limit + 1)).unique())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode(name, [key.value_of(rows[-1], attribute) for key, attribute in keys]) if more else None
    return rows, next_cursor
