"""The notification settings: which kinds also come by e-mail."""
from __future__ import annotations

from wtforms import BooleanField, Field

from helpdesk.core.forms import ConfirmForm, Form
from helpdesk.notifications.models import KIND_LABELS, NotificationKind


class PreferencesForm(Form):
    """One checkbox per kind, named after it (``by_email_assigned`` …)."""

    @property
    def kind_fields(self) -> list[tuple[NotificationKind, Field]]:
        return [(kind, self[f"by_email_{kind.value}"]) for kind in NotificationKind]

    def chosen(self) -> set[NotificationKind]:
        return {kind for kind, field in self.kind_fields if field.data}


for _kind in NotificationKind:
    setattr(PreferencesForm, f"by_email_{_kind.value}", BooleanField(KIND_LABELS[_kind]))


class MarkReadForm(ConfirmForm):
    """The button that marks one, or all, read."""

