"""The e-mail of a notification, for the kinds a person chose to receive by e-mail too; template in
``templates/emails/notifications/``, in the person's own language."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from flask_babel import lazy_gettext as _l

from helpdesk.auth.models import User
from helpdesk.core import emails
from helpdesk.core.urls import base_url
from helpdesk.councils import recipients
from helpdesk.notifications.models import Notification

AUTOMATIC = {"Auto-Submitted": "auto-generated"}

NOTIFICATION = emails.register(
    "notifications/notification",
    trigger=_l("Something concerns a member of staff (a ticket assigned to them, the council's answer on their "
               "ticket, a note mentioning them, an SLA warning or breach on their ticket, an outage opened) and "
               "they chose that kind by e-mail in their notification settings"),
    recipients=_l("The member of staff concerned, never the one who acted"),
    sample=lambda: {"name": "Marta Puig", "title": _l("%(actor)s assigned %(reference)s to you", actor="Jordi Serra", reference="#1234"),
                    "summary": "No puc canviar el logotip de la plataforma",
                    "link": f"{base_url()}/notifications/1", "settings_url": f"{base_url()}/notifications/settings",
                    "when": datetime(2027, 3, 1, 10, 30, tzinfo=timezone.utc)})


def send_notification(notification: Notification, user: User) -> None:
    """Queue ``notification``'s e-mail to ``user`` in their language (its link marks it read and opens its place)."""
    with emails.in_language(recipients.language_of(user.email, user=user)):
        title = notification.title()  # the same sentence as on the list, in the reader's language
    context: dict[str, Any] = {"name": user.name, "title": title, "summary": notification.summary,
                               "link": f"{base_url()}/notifications/{notification.id}",
                               "settings_url": f"{base_url()}/notifications/settings", "when": notification.created_at}
    recipients.send(NOTIFICATION, recipients.language_of(user.email, user=user), [user.email], context,
                    headers=AUTOMATIC, related=notification)
