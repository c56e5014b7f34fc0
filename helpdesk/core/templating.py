"""Template filters and globals shared by every domain."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Callable, Mapping

from babel import Locale
from babel.dates import format_skeleton
from flask import Flask, current_app
from markupsafe import Markup
from flask_babel import format_date, format_datetime, format_decimal, format_time, get_locale, to_user_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from helpdesk.core.html import sanitize_html
from helpdesk.core.pagination import page_url
from helpdesk.core.validation import display_phone

# How the audit trail names fields and their coded values; each domain adds its own with `describe_field`.
FIELD_LABELS: dict[str, Any] = {}
VALUE_LABELS: dict[str, dict[Any, Any]] = {}
VALUE_RESOLVERS: dict[str, Callable[[Any], str | None]] = {}
CLOCK_STATES = {
    "running": _l("on time"), "at_risk": _l("at risk"), "breached": _l("breached"), "paused": _l("paused"),
    "met": _l("met"), "missed": _l("missed"),
}
DELIVERY_STATES = {"pending": _l("queued"), "sending": _l("sending"), "sent": _l("sent"), "failed": _l("failed"),
                   "uncertain": _l("check delivery")}
# Queued mail with no SMTP server configured waits for good (development, a demo, a desk not set up yet): say so.
UNSENDABLE = _l("not sent: no mail server is configured")
GROUPINGS = {"month": _l("Month"), "category": _l("Category"), "council": _l("Council"), "agent": _l("Agent"),
             "channel": _l("Channel")}
ACTION_LABELS = {
    "created": _l("created the record"),
    "updated": _l("changed"),
    "status_changed": _l("changed the status"),
    "password_changed": _l("changed the password"),
    "message_inbound": _l("wrote as the requester"),
    "message_reply": _l("replied"),
    "message_note": _l("added an internal note"),
    "message_call": _l("logged a call"),
    "message_deleted": _l("hid a message"),
    "merged": _l("merged this ticket into another"),
    "merged_from": _l("merged another ticket into this one"),
    "split": _l("split a message off into a new ticket"),
    "split_from": _l("opened this ticket with a message split off another"),
    "clock": _l("recomputed the SLA due times"),
    "sla_at_risk": _l("marked the ticket at risk of missing its SLA"),
    "sla_breached": _l("marked the SLA as breached"),
    "holiday_added": _l("added a holiday"),
    "holiday_removed": _l("removed a holiday"),
}


def describe_field(name: str, label: Any, values: Mapping[Any, Any] | None = None,
                   resolve: Callable[[Any], str | None] | None = None) -> None:
    """Name a field for the audit trail, with its coded values or a function naming the record an id points to."""
    FIELD_LABELS[name] = label
    if values:  # several domains may name the values of one field ("status"): they add up
        VALUE_LABELS.setdefault(name, {}).update({getattr(key, "value", key): text for key, text in values.items()})
    if resolve:
        VALUE_RESOLVERS[name] = resolve


def audit_value(value: Any, field: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(audit_value(item, field) for item in value) or "—"
    if field in VALUE_RESOLVERS:
        return VALUE_RESOLVERS[field](value) or f"#{value}"
    labels = VALUE_LABELS.get(field, {})
    return str(labels.get(value, value))


def filesize(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f}".removesuffix(".0") + " MB"


def minutes(value: int | float | None) -> str:
    """A duration in minutes as people read it: 45 min, 2 h, 1 h 30 min, 3 d 2 h (days of 24 h)."""
    if value is None:
        return "—"
    total = int(round(value))
    days, rest = divmod(abs(total), 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = ([f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours)
             + [f"{mins} min"] * bool(mins or not (days or hours)))
    return ("-" if total < 0 else "") + " ".join(parts)


def _locale() -> Locale:
    return get_locale() or Locale.parse(current_app.config["DEFAULT_LANGUAGE"])


def short_date(value: date) -> str:
    """A day in digits with the whole year, in the reader's order: 4/12/2026 (ca, es), 12/4/2026 (en). CLDR's own
    'short' style cuts the year to two digits, which reads as a day or a month next to a renewal's 2-year span."""
    if isinstance(value, datetime):
        value = to_user_timezone(value)
    return str(format_skeleton("yMd", value, locale=_locale()))


def short_datetime(value: datetime) -> str:
    """A moment as ``short_date`` and the locale's short time, joined as the locale joins them: 4/12/2026 9:05 (ca),
    4/12/2026, 9:05 (es), 12/4/2026, 9:05 AM (en); in the desk's time zone."""
    locale = _locale()
    return str(locale.datetime_formats["short"]).format(format_time(value, "short"), short_date(value))


def datetimeformat(value: datetime | None, style: str = "medium") -> str:
    """A moment in the reader's language; every style shows a four-digit year."""
    if not value:
        return "—"
    return short_datetime(value) if style == "short" else format_datetime(value, style)


def dateformat(value: date | None, style: str = "medium") -> str:
    """A day in the reader's language; every style shows a four-digit year."""
    if not value:
        return "—"
    return short_date(value) if style == "short" else format_date(value, style)


def delivery_label(status: str) -> str:
    """How a message's e-mail is doing, in words; queued mail that no server will ever take says why."""
    if status == "pending" and not current_app.config.get("SMTP_HOST"):
        return str(UNSENDABLE)
    return str(DELIVERY_STATES.get(status, status))


def percent(value: float, digits: int = 1) -> str:
    """A percentage (0–100) as the reader writes it, with at most ``digits`` decimals: 99,97 % (ca, es),
    99.97 % (en)."""
    return f"{format_decimal(round(value, digits), '#,##0.' + '#' * digits if digits else '#,##0')} %"


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        datetimeformat=datetimeformat,
        audit_value=audit_value,
        audit_action=lambda action: str(ACTION_LABELS.get(action, action)),
        field_label=lambda name: str(FIELD_LABELS.get(name, name.replace("_", " "))),
        phone=display_phone,
        sanitized=lambda html: Markup(sanitize_html(html)),
        filesize=filesize,
        minutes=minutes,
        clock_state=lambda state: str(CLOCK_STATES.get(state, state)),
        grouping=lambda key: str(GROUPINGS.get(key, key)),
        delivery_state=delivery_label,
        dateformat=dateformat,
        percent=percent,
    )
    app.jinja_env.globals["page_url"] = page_url

    @app.context_processor
    def language() -> dict[str, str]:
        return {"current_language": str(get_locale() or app.config["DEFAULT_LANGUAGE"])}
