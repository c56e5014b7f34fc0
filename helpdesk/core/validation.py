"""Normalising and checking the small values every domain receives: e-mail addresses, domains, phones."""
from __future__ import annotations

import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l

from helpdesk.core.errors import DomainError

DEFAULT_PHONE_REGION = "ES"
# The largest whole number an id or count column holds (PostgreSQL's integer): past it, it names nothing of ours.
LARGEST_NUMBER = 2**31 - 1
# The years people mean: a date outside them is a typing slip (and past 9999 no date arithmetic works).
EARLIEST_YEAR, LATEST_YEAR = 1900, 2100
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.[a-z]{2,63}$")


def normalise_email(raw: str, field: str = "email") -> str:
    """The address in its canonical form (domain lower-cased); DomainError if it is not one."""
    try:
        result = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError:
        raise DomainError(_l("“%(value)s” is not a valid e-mail address.", value=raw.strip()), field) from None
    return result.normalized.lower()


def normalise_domain(raw: str, field: str = "email_domains") -> str:
    """An e-mail domain, lower-cased, without a leading @; DomainError if it is not one."""
    domain = raw.strip().lower().removeprefix("@").rstrip(".")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        pass
    if not _DOMAIN.match(domain):
        raise DomainError(_l("“%(value)s” is not a valid e-mail domain.", value=raw.strip()), field)
    return domain


def normalise_phone(raw: str, field: str = "phone") -> str:
    """A phone number in E.164 form (Spanish numbers may omit +34); DomainError if it is not one."""
    try:
        number = phonenumbers.parse(raw.strip(), DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_possible_number(number):
        raise DomainError(_l("“%(value)s” is not a valid phone number.", value=raw.strip()), field)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(number: str) -> str:
    """An E.164 number as people write it: national form for Spain, international otherwise."""
    try:
        parsed = phonenumbers.parse(number, DEFAULT_PHONE_REGION)
    except phonenumbers.NumberParseException:
        return number
    style = (phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 34
             else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return phonenumbers.format_number(parsed, style)


def split_list(raw: str) -> list[str]:
    """Items typed one per line or separated by commas, semicolons or spaces."""
    return [item for item in re.split(r"[\s,;]+", raw or "") if item]


def whole_number(text: str | None, prefix: str = "") -> int | None:
    """``text`` as a non-negative whole number written in ASCII digits (after an optional prefix such as
    "#") that a column can hold, or None: "²".isdigit() is True, but it is no number anyone typed."""
    value = (text or "").strip().removeprefix(prefix).strip()
    return int(value) if re.fullmatch(r"[0-9]{1,10}", value) and int(value) <= LARGEST_NUMBER else None
