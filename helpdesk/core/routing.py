"""What an address may carry: ids the database's integer columns can hold, query text the database can store."""
from __future__ import annotations

from typing import Any

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter
from werkzeug.utils import cached_property

from helpdesk.core.validation import LARGEST_NUMBER


class DatabaseInteger(IntegerConverter):
    """``<int:…>`` of every route: an id past PostgreSQL's integer is no record of ours, so 404, not an error."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", LARGEST_NUMBER)
        super().__init__(map, *args, **kwargs)


class DeskRequest(Request):
    """A request whose query string holds no NUL character (no database text can hold one): a search or filter
    typed with one means the same without it."""

    @cached_property
    def args(self) -> ImmutableMultiDict[str, str]:
        pairs = super().args.items(multi=True)
        return ImmutableMultiDict([(key.replace("\x00", ""), value.replace("\x00", "")) for key, value in pairs])
