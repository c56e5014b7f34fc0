"""Mail about a person's own account: an invitation, a password-reset link, the notice that the password
changed and the warning of repeated failed sign-ins; templates in ``templates/emails/auth/``, each in the
person's own language."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from flask import current_app
from flask_babel import lazy_gettext as _l

from helpdesk.auth.models import User
from helpdesk.core import emails
from helpdesk.core.outbox import queue_mail
from helpdesk.core.urls import base_url

AUTOMATIC = {"Auto-Submitted": "auto-generated"}


def _base() -> str:
    return base_url()


INVITATION = emails.register(
    "auth/invitation", trigger=_l("An administrator invites a person (screen, `helpdesk user invite`, or a council "
                                  "import that invites its contacts)"),
    recipients=_l("The person invited"),
    sample=lambda: {"name": "Joana Vila", "inviter": "Marta Puig", "role": "Usuari de l'ajuntament",
                    "link": f"{_base()}/invitation/EXAMPLE", "expires_at": datetime(2027, 3, 8, 9, 0, tzinfo=timezone.utc)})
PASSWORD_RESET = emails.register(
    "auth/password_reset", trigger=_l("Someone asks for a new password on the sign-in page"),
    recipients=_l("The account's owner (nothing is sent when the address has no account)"),
    sample=lambda: {"name": "Joana Vila", "link": f"{_base()}/password/reset/EXAMPLE", "minutes": 60})
PASSWORD_CHANGED = emails.register(
    "auth/password_changed", trigger=_l("An account's password changes (by its owner, a reset or an administrator)"),
    recipients=_l("The account's owner"),
    sample=lambda: {"name": "Joana Vila", "when": datetime(2027, 3, 1, 10, 30, tzinfo=timezone.utc), "account_url": f"{_base()}/account"})
ATTACK_WARNING = emails.register(
    "auth/attack_warning", trigger=_l("An account fails to sign in many times within an hour (at most once a day)"),
    recipients=_l("The account's owner"),
    sample=lambda: {"name": "Joana Vila", "failures": 20, "when": datetime(2027, 3, 1, 10, 30, tzinfo=timezone.utc),
                    "forgot_url": f"{_base()}/password/forgot"})


def _send(email: emails.Email, user: User, context: dict[str, Any]) -> None:
    from helpdesk.sla.hours import support_hours  # same level; imported late, as the seeder's users need none
    rendered = email.render(user.language, {"name": user.name, **context}, hours=support_hours(user.language))
    queue_mail([user.email], rendered.subject, rendered.text, body_html=rendered.html, headers=AUTOMATIC)


def invite(user: User, inviter: User | None, token: str, expires_at: datetime) -> None:
    _send(INVITATION, user, {"inviter": inviter.name if inviter is not None else current_app.config["MAIL_FROM_NAME"],
                             "role": user.role.label, "link": f"{_base()}/invitation/{token}",
                             "expires_at": expires_at})


def send_reset_link(user: User, token: str, lifetime: timedelta) -> None:
    _send(PASSWORD_RESET, user, {"link": f"{_base()}/password/reset/{token}",
                                 "minutes": int(lifetime.total_seconds() // 60)})


def tell_password_changed(user: User, when: datetime) -> None:
    _send(PASSWORD_CHANGED, user, {"when": when, "account_url": f"{_base()}/account"})


def warn_of_attack(user: User, failures: int, when: datetime) -> None:
    _send(ATTACK_WARNING, user, {"failures": failures, "when": when, "forgot_url": f"{_base()}/password/forgot"})
