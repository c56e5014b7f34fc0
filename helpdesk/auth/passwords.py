"""Passwords: the rule a new one must meet, and how they are hashed (Argon2id; older hashes are checked and
upgraded at the next sign-in)."""
from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn

from helpdesk.auth.models import PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH
from helpdesk.core.errors import DomainError

#: zxcvbn's score (0–4) a password needs: 3 is "safely unguessable" (about 10^8 guesses and more), which
#: refuses the common passwords and dictionary words it ships, with their usual digits and substitutions.
MIN_STRENGTH = 3


@cache
def _hasher(memory_kib: int, time_cost: int) -> PasswordHasher:
    return PasswordHasher(memory_cost=memory_kib, time_cost=time_cost)


def hasher() -> PasswordHasher:
    """Argon2id with the desk's cost (PASSWORD_HASH_MEMORY_KIB, PASSWORD_HASH_TIME_COST)."""
    if not has_app_context():
        return _hasher(65536, 3)
    config = current_app.config
    return _hasher(config["PASSWORD_HASH_MEMORY_KIB"], config["PASSWORD_HASH_TIME_COST"])


def hash_password(password: str) -> str:
    return hasher().hash(password)


def verify(stored: str, password: str) -> tuple[bool, bool]:
    """Whether ``password`` matches the ``stored`` hash, and whether the hash should be made again (an older
    scheme, such as Werkzeug's scrypt or PBKDF2, or an Argon2 cost below today's)."""
    if not stored:
        return False, False
    if stored.startswith("$argon2"):
        try:
            hasher().verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False, False
        return True, hasher().check_needs_rehash(stored)
    return check_password_hash(stored, password), True


@cache
def dummy_hash() -> str:
    """A hash to check against when the account does not exist, so that the answer takes as long."""
    return hasher().hash("not the password of anyone")


def check_password_rules(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse a password that is too short or too long, or easy to guess (common, a word with digits, the
    person's own name or address)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise DomainError(_l("The password must have at least %(count)d characters.",
                             count=PASSWORD_MIN_LENGTH), "password")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise DomainError(_l("The password must have at most %(count)d characters.",
                             count=PASSWORD_MAX_LENGTH), "password")
    if email and password.strip().lower() == email.lower():
        raise DomainError(_l("The password cannot be your e-mail address."), "password")
    inputs = [part for part in (email, email.partition("@")[0], name, *name.split()) if part]
    # zxcvbn's time grows with the length; what is past 100 characters adds nothing to its verdict.
    if zxcvbn(password[:100], user_inputs=inputs)["score"] < MIN_STRENGTH:
        raise DomainError(_l("This password is too easy to guess: it is common, or close to a word, a name or "
                             "your address. Add more unrelated words or characters."), "password")
