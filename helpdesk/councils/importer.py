"""Importing councils from a CSV file: all rows or none, keyed by INE code. A row may also name one of the
council's contacts (a council with several contacts takes several rows, its own columns the same on each), and
the import may invite each listed contact who has no account yet, in one step."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from helpdesk.auth.models import Role, User
from helpdesk.core.errors import DomainError
from helpdesk.core.validation import split_list
from helpdesk.config import LANGUAGES
from helpdesk.councils.models import Contact, Council, CouncilKind
from helpdesk.councils.services import ContactData, CouncilData, create_council, save_contact, update_council
from helpdesk.extensions import db

REQUIRED_COLUMNS = ("ine_code", "name", "kind")
OPTIONAL_COLUMNS = ("email_domains", "phones")
CONTACT_COLUMNS = ("contact_name", "contact_email", "contact_phone", "contact_position", "contact_language")
COUNCIL_COLUMNS = ("name", "kind", "email_domains", "phones")
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
    contacts_added: int = 0
    invited: list[str] = field(default_factory=list)  # the addresses invited


@dataclass(frozen=True)
class Invitations:
    """Invite the listed contacts who have no account (as council users), with links valid for ``lifetime``."""

    lifetime: timedelta
    now: datetime
    default_language: str = "ca"


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


def import_councils(actor: User | None, content: bytes, invite: Invitations | None = None) -> ImportResult:
    """Create or update the councils (and add the contacts) in a CSV file; raise ImportFailed, writing nothing,
    if any row is bad. With ``invite``, each listed contact with an e-mail and no account is invited."""
    header, rows = read_rows(decode(content))
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        raise ImportFailed([(1, str(_l("missing column(s): %(columns)s", columns=", ".join(missing))))])
    result, problems, seen = ImportResult(), [], {}
    savepoint = db.session.begin_nested()
    for line, row in rows:
        try:
            council = _council_of(actor, row, header, line, seen, result)
            if row.get("contact_name") or row.get("contact_email"):
                _add_contact(actor, council, row, result, invite)
        except DomainError as error:
            problems.append((line, str(error.message)))
    if problems:
        savepoint.rollback()
        raise ImportFailed(problems)
    savepoint.commit()
    return result


def _council_of(actor: User | None, row: dict[str, str], header: list[str], line: int,
                seen: dict[str, tuple[int, dict[str, str]]], result: ImportResult) -> Council:
    """The row's council, created or updated the first time its INE code appears (later rows add contacts)."""
    code = row["ine_code"].strip()
    council_part = {column: row.get(column, "") for column in COUNCIL_COLUMNS}
    if code in seen:
        first_line, first = seen[code]
        if first != council_part:
            raise DomainError(_l("INE code %(code)s is also on line %(line)d with other council details",
                                 code=code, line=first_line))
        council = db.session.scalar(select(Council).where(Council.ine_code == code))
        assert council is not None  # made or found on its first line
        return council
    seen[code] = (line, council_part)
    kind = KIND_WORDS.get(row["kind"].lower())
    if kind is None:
        raise DomainError(_l("unknown kind “%(value)s” (use town_council, county_council or other)",
                             value=row["kind"]))
    data = CouncilData(
        name=row["name"], kind=kind, ine_code=code,
        email_domains=split_list(row["email_domains"]) if "email_domains" in header else None,
        phone_numbers=[item.strip() for item in row["phones"].replace(";", ",").split(",") if item.strip()]
        if "phones" in header else None)
    council = db.session.scalar(select(Council).where(Council.ine_code == code))
    if council is None:
        council = create_council(actor, data)
        result.created += 1
    elif update_council(actor, council, data):
        result.updated += 1
    else:
        result.unchanged += 1
    return council


def _add_contact(actor: User | None, council: Council, row: dict[str, str], result: ImportResult,
                 invite: Invitations | None) -> None:
    language = row.get("contact_language", "").lower()
    if language and language not in LANGUAGES:
        raise DomainError(_l("unknown language “%(value)s” (use ca, es or en)", value=language))
    email = row.get("contact_email", "").strip().lower()
    contact = db.session.scalar(select(Contact).where(Contact.council_id == council.id,
                                                      func.lower(Contact.email) == email)) if email else None
    if contact is None:
        contact = save_contact(actor, council, ContactData(
            name=row.get("contact_name", "") or email, position=row.get("contact_position", ""), email=email,
            phone=row.get("contact_phone", ""), language=language))
        result.contacts_added += 1
    if invite is None or not contact.email:
        return
    if db.session.scalar(select(User.id).where(func.lower(User.email) == contact.email.lower())) is not None:
        return  # already has an account (or was invited by an earlier row)
    from helpdesk.auth.tokens import invite as send_invitation
    send_invitation(actor, email=contact.email, name=contact.name, role=Role.COUNCIL_USER, council_id=council.id,
                    language=contact.language or invite.default_language, lifetime=invite.lifetime, now=invite.now)
    result.invited.append(contact.email)
