"""A second factor: TOTP codes (RFC 6238, via pyotp) from an authenticator app, with ten single-use recovery
codes. Required for the roles in SECOND_FACTOR_ROLES (every staff role by default), optional for the rest."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import pyotp
import segno
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select

from helpdesk.auth import sessions
from helpdesk.auth.models import RecoveryCode, SessionEnd, SignInKind, User, digest
from helpdesk.auth.record import Client, note
from helpdesk.auth.services import require_admin
from helpdesk.config import second_factor_roles
from helpdesk.core import audit
from helpdesk.core.errors import DomainError
from helpdesk.core.sealing import seal, unseal
from helpdesk.extensions import db

ISSUER = "Participa311"
RECOVERY_CODES = 10
# A code is accepted in the 30 seconds before and after its own: phones' clocks drift.
DRIFT_STEPS = 1


class WrongCode(DomainError):
    """The code is not the current one, was used already, or is not a recovery code of the person."""


def is_required(user: User, config: Any) -> bool:
    return user.role.value in second_factor_roles(config)


def new_secret() -> str:
    return pyotp.random_base32()


def enrolment_uri(user: User, secret: str) -> str:
    """The otpauth:// address the authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code(uri: str) -> str:
    """The QR code of ``uri`` as a data: URI of a PNG image (the pages' CSP allows data: images only)."""
    return str(segno.make(uri, error="m").png_data_uri(scale=5, border=2))


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code is ``code``, within the drift allowed; None."""
    code = "".join(code.split())
    if not code.isdigit() or len(code) != 6:
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def enrol(user: User, secret: str, code: str, now: datetime, secret_key: str, client: Client = Client()) -> list[str]:
    """Turn the second factor on once the person typed a code of ``secret``; the recovery codes, to show once."""
    step = _matching_step(secret, code, now)
    if step is None:
        raise WrongCode(_l("That code is not right. Type the 6 digits the app shows now."), "code")
    user.totp_secret, user.totp_enabled_at, user.totp_last_step = seal(secret, secret_key), now, step
    codes = _new_recovery_codes(user)
    note(SignInKind.SECOND_FACTOR_ENROLLED, user=user, client=client, now=now)
    audit.record(user, "second_factor_enrolled", user)
    return codes


def _new_recovery_codes(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODES)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_digest=digest(code)) for code in codes)
    return codes


def renew_recovery_codes(user: User, now: datetime, client: Client = Client()) -> list[str]:
    """Ten new recovery codes; the old ones stop working."""
    codes = _new_recovery_codes(user)
    note(SignInKind.SECOND_FACTOR_ENROLLED, user=user, client=client, now=now, detail="new recovery codes")
    return codes


def verify(user: User, code: str, now: datetime, secret_key: str, client: Client = Client()) -> None:
    """Accept the current TOTP code (never one already used) or an unused recovery code; else raise."""
    if user.totp_secret is not None:
        step = _matching_step(unseal(user.totp_secret, secret_key), code, now)
        if step is not None and (user.totp_last_step is None or step > user.totp_last_step):
            user.totp_last_step = step
            return
    typed = "".join(code.split()).lower()
    recovery = db.session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_digest == digest(typed), RecoveryCode.used_at.is_(None)))
    if recovery is not None:
        recovery.used_at = now
        note(SignInKind.RECOVERY_CODE_USED, user=user, client=client, now=now)
        return
    note(SignInKind.SECOND_FACTOR_FAILED, user=user, client=client, now=now)
    raise WrongCode(_l("That code is not right, or it was used already. Type the code the app shows now, or one "
                       "of your recovery codes."), "code")


def unused_recovery_codes(user: User) -> int:
    return int(db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0)


def reset(actor: User | None, user: User, now: datetime) -> None:
    """An administrator turns a person's second factor off (a lost phone): they enrol again at next sign-in."""
    require_admin(actor)
    if not user.has_second_factor:
        raise DomainError(_l("%(email)s has no second factor to reset.", email=user.email))
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    sessions.end_all(user, SessionEnd.SECOND_FACTOR_RESET, now)
    note(SignInKind.SECOND_FACTOR_RESET, user=user, actor=actor, now=now)
    audit.record(actor, "second_factor_reset", user)
