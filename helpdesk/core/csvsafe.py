"""CSV that is safe to open in a spreadsheet: every CSV the app writes goes through ``writer`` or
``download``, so no cell a person typed (a subject, a council's name, a note) can become a formula.

The rule (OWASP's "CSV injection"): a text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return gets a leading single quote, which spreadsheets take as "this is text" and hide. Only
text is prefixed: numbers the app writes as numbers (a ticket number, a count, a median of -5 minutes)
are written as they are, since a spreadsheet reads ``-5`` as the number it is and never as a formula.
A text ``"-2+3"`` does become ``'-2+3``, as does a phone number typed ``+34 …``.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import IO, Any

from flask import Response, stream_with_context

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """``value`` as a CSV cell: text that a spreadsheet would run as a formula gets a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class SafeWriter:
    """``csv.writer`` whose every cell goes through ``spreadsheet_cell``."""

    def __init__(self, stream: IO[str]) -> None:
        self._writer = csv.writer(stream)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([spreadsheet_cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)


def writer(stream: IO[str]) -> SafeWriter:
    """A CSV writer for ``stream`` that keeps every text cell text in a spreadsheet."""
    return SafeWriter(stream)


def lines(rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The CSV text of ``rows``, a line at a time (for streaming a download)."""
    buffer = io.StringIO()
    out = writer(buffer)
    for row in rows:
        out.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def download(name: str, rows: Iterable[Iterable[Any]]) -> Response:
    """A CSV file ``name``.csv streamed as ``rows`` are read; the byte-order mark tells spreadsheets it is
    UTF-8 (accents in councils' names)."""
    def body() -> Iterator[str]:
        yield "\ufeff"
        yield from lines(rows)
    return Response(stream_with_context(body()), mimetype="text/csv",
                    headers={"Content-Disposition": f"attachment; filename={name}.csv"})
