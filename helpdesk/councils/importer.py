"""Importing councils from a CSV file: all rows or none, keyed by INE code."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from helpdesk.auth.models import User
from helpdesk.core.errors import DomainError
from helpdesk.core.validation import split_list
from helpdesk.councils.models import Council, CouncilKind
from helpdesk.councils.services import CouncilData, create_council, update_council
from helpdesk.extensions import db

REQUIRED_COLUMNS = ("ine_code", "name", "kind")
OPTIONAL_COLUMNS = ("email_domains", "phones")
# The kind column takes our values or the words a Catalan spreadsheet uses.
KIND_WORDS = {
    "town_council": CouncilKind.TOWN_COUNCIL, "ajuntament": CouncilKind.TOWN_COUNCIL,
    "county_council": CouncilKind.COUNTY_COUNCIL, "consell comarcal": CouncilKind.COUNTY_COUNCIL,
    "other": CouncilKind.OTHER, "altre": CouncilKind.OTHER, "altres": CouncilKind.OTHER,
}


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


@dataclass
class ImportFailed(Exception):
    """The file was refused; ``problems`` lists (line number, reason); nothing was written."""

    problems: list[tuple[int, str]] = field(default_factory=list)


def decode(content: bytes) -> str:
    """The file's text: UTF-8 (with or without BOM), else Windows-1252 as older spreadsheets save it."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252", errors="replace")


def read_rows(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and each data row with its line number; commas or semicolons both work."""
    try:
        dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text, newline=""), dialect=dialect)
    header = [name.strip().lower() for name in reader.fieldnames or []]
    reader.fieldnames = header
    rows = []
    for row in reader:
        if not any((value or "").strip() for key, value in row.items() if key is not None):
            continue
        rows.append((reader.line_num, {key: (value or "").strip() for key, value in row.items() if key}))
    return header, rows


def import_councils(actor: User | None, content: bytes) -> ImportResult:
    """Create or update the councils in a CSV file; raise ImportFailed, writing nothing, if any row is bad."""
    header, rows = read_rows(decode(content))
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ImportFailed([(1, str(_l("missing column(s): %(columns)s", columns=", ".join(missing))))])
    result, problems, seen = ImportResult(), [], {}
    savepoint = db.session.begin_nested()
    for line, row in rows:
        try:
            kind = KIND_WORDS.get(row["kind"].lower())
            if kind is None:
                raise DomainError(_l("unknown kind “%(value)s” (use town_council, county_council or other)",
                                     value=row["kind"]))
            if row["ine_code"] in seen:
                raise DomainError(_l("INE code %(code)s is also on line %(line)d", code=row["ine_code"],
                                     line=seen[row["ine_code"]]))
            seen[row["ine_code"]] = line
            data = CouncilData(
                name=row["name"], kind=kind, ine_code=row["ine_code"],
                email_domains=split_list(row["email_domains"]) if "email_domains" in header else None,
                phone_numbers=[item.strip() for item in row["phones"].replace(";", ",").split(",") if item.strip()]
                if "phones" in header else None)
            council = db.session.scalar(select(Council).where(Council.ine_code == data.ine_code.strip()))
            if council is None:
                create_council(actor, data)
                result.created += 1
            elif update_council(actor, council, data):
                result.updated += 1
            else:
                result.unchanged += 1
        except DomainError as error:
            problems.append((line, str(error.message)))
    if problems:
        savepoint.rollback()
        raise ImportFailed(problems)
    savepoint.commit()
    return result
