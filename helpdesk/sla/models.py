"""Calendars (weekly hours and holidays) and SLA policies, as administrators edit them."""
from __future__ import annotations

from datetime import date, datetime, time

from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, ForeignKey, String, Text, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.core.models import TimestampMixin
from helpdesk.extensions import Model

# Official holidays that a calendar can follow: the `holidays` package's country and subdivision.
OFFICIAL_HOLIDAYS = {"": _l("None"), "ES-CT": _l("Catalonia (Spain, subdivision CT)")}
HOLIDAY_YEARS = range(2000, 2061)  # the years for which holidays can be entered or are computed
NAME_MAX_LENGTH = 120

# The ticket fields that choose a policy, with their values and labels. The tickets domain fills this
# in (it sits above this one and owns those values); the policy screens read it.
POLICY_DIMENSIONS: dict[str, dict[str, LazyString]] = {"category": {}, "priority": {}}


class Calendar(TimestampMixin, Model):
    __tablename__ = "calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Madrid")
    is_24x7: Mapped[bool] = mapped_column(default=False)
    official_holidays: Mapped[str] = mapped_column(String(16), default="")

    intervals: Mapped[list[CalendarInterval]] = relationship(
        back_populates="calendar", cascade="all, delete-orphan",
        order_by="(CalendarInterval.weekday, CalendarInterval.opens)")
    holidays: Mapped[list[Holiday]] = relationship(back_populates="calendar", cascade="all, delete-orphan",
                                                   order_by="Holiday.day")

    AUDITED = ("name", "timezone", "is_24x7", "official_holidays", "weekly_hours")

    @property
    def weekly_hours(self) -> list[str]:
        return [f"{item.weekday}:{item.opens:%H:%M}-{item.closes:%H:%M}" for item in self.intervals]

    def __repr__(self) -> str:
        return f"<Calendar {self.name}>"


class CalendarInterval(Model):
    """One opening interval [opens, closes) of a weekday (0 = Monday); closes 00:00 means midnight."""

    __tablename__ = "calendar_intervals"

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"), index=True)
    weekday: Mapped[int]
    opens: Mapped[time] = mapped_column(Time)
    closes: Mapped[time] = mapped_column(Time)

    calendar: Mapped[Calendar] = relationship(back_populates="intervals")


class Holiday(Model):
    """A local holiday or a one-off closure; official ones come from the `holidays` package."""

    __tablename__ = "holidays"
    __table_args__ = (UniqueConstraint("calendar_id", "day", name="uq_holidays_calendar_id_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id", ondelete="CASCADE"), index=True)
    day: Mapped[date] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))

    calendar: Mapped[Calendar] = relationship(back_populates="holidays")


# The languages a policy's name is written in: ``name`` holds the Catalan one (the desk's default, and what a
# reader of another language falls back to), ``name_es`` and ``name_en`` the others (empty until written).
NAME_LANGUAGES = ("ca", "es", "en")


class SlaPolicy(TimestampMixin, Model):
    """Targets for tickets of a category and priority (empty = any); the most specific policy applies."""

    __tablename__ = "sla_policies"
    __table_args__ = (UniqueConstraint("category", "priority", name="uq_sla_policies_category_priority"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))  # in Catalan
    name_es: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), default="", server_default="")
    name_en: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), default="", server_default="")
    category: Mapped[str | None] = mapped_column(String(32))
    priority: Mapped[str | None] = mapped_column(String(32))
    calendar_id: Mapped[int] = mapped_column(ForeignKey("calendars.id"), index=True)
    first_response_minutes: Mapped[int]
    resolution_minutes: Mapped[int]
    notes: Mapped[str] = mapped_column(Text, default="")

    calendar: Mapped[Calendar] = relationship(lazy="joined")

    AUDITED = ("name", "name_es", "name_en", "category", "priority", "calendar_id", "first_response_minutes",
               "resolution_minutes")

    @property
    def names(self) -> dict[str, str]:
        return {"ca": self.name, "es": self.name_es, "en": self.name_en}

    def name_in(self, language: str) -> str:
        """The name in ``language``, else in Catalan, else in any language it has."""
        names = self.names
        return names.get(language) or names["ca"] or next((name for name in names.values() if name), "")

    @property
    def localized_name(self) -> str:
        """The name in the reader's language (Catalan outside a request)."""
        return self.name_in(str(get_locale() or "ca"))

    def __repr__(self) -> str:
        return f"<SlaPolicy {self.name}>"


def policy_updated_at(policy: SlaPolicy) -> datetime:
    return max(policy.updated_at, policy.calendar.updated_at)
