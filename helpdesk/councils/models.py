"""Councils, the e-mail domains and phone numbers that recognise them, and their contacts."""
from __future__ import annotations

import enum

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import Role
from helpdesk.core.models import TimestampMixin, council_scope, enum_type
from helpdesk.extensions import db

NAME_MAX_LENGTH = 200
INE_CODE_PATTERN = r"^\d{5,10}$"
INE_CODE_HELP = _l("5 to 10 digits, as the INE or the Generalitat's register gives it (e.g. 08019).")
DOMAIN_MAX_LENGTH = 253
# Addresses on these domains belong to people, not to a council: they never identify one.
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "hotmail.com", "hotmail.es", "outlook.com", "outlook.es",
    "live.com", "msn.com", "yahoo.com", "yahoo.es", "icloud.com", "me.com", "proton.me",
    "protonmail.com", "telefonica.net", "movistar.es", "gmx.com", "gmx.es", "aol.com",
})
# Staff who keep contacts up to date (after a call, a catalogue request…); council users edit their own.
CONTACT_EDITORS = frozenset({Role.ADMIN, Role.AGENT, Role.CATALOGUE_MANAGER})


class CouncilKind(enum.Enum):
    TOWN_COUNCIL = "town_council"
    COUNTY_COUNCIL = "county_council"
    OTHER = "other"

    @property
    def label(self) -> str:
        return str(COUNCIL_KIND_LABELS[self])


COUNCIL_KIND_LABELS = {
    CouncilKind.TOWN_COUNCIL: _l("Town council"),
    CouncilKind.COUNTY_COUNCIL: _l("County council"),
    CouncilKind.OTHER: _l("Other local body"),
}


class Council(TimestampMixin, db.Model):
    __tablename__ = "councils"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), index=True)
    kind: Mapped[CouncilKind] = mapped_column(enum_type(CouncilKind))
    ine_code: Mapped[str] = mapped_column(String(10), unique=True)
    notes: Mapped[str] = mapped_column(Text, default="")

    domains: Mapped[list[CouncilDomain]] = relationship(
        back_populates="council", cascade="all, delete-orphan", order_by="CouncilDomain.domain")
    phones: Mapped[list[CouncilPhone]] = relationship(
        back_populates="council", cascade="all, delete-orphan", order_by="CouncilPhone.number")
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="council", cascade="all, delete-orphan", order_by="Contact.name")

    AUDITED = ("name", "kind", "ine_code", "notes", "email_domains", "phone_numbers")

    @property
    def email_domains(self) -> list[str]:
        return sorted(item.domain for item in self.domains)

    @property
    def phone_numbers(self) -> list[str]:
        return sorted(item.number for item in self.phones)

    @property
    def technical_referent(self) -> Contact | None:
        return next((contact for contact in self.contacts if contact.is_technical_referent), None)

    @staticmethod
    def visible_to(user) -> ColumnElement[bool]:
        """The query condition for the councils ``user`` may see."""
        return council_scope(Council.id, user)

    def can_view(self, user) -> bool:
        return user.is_staff or user.council_id == self.id

    def can_edit(self, user) -> bool:
        return user.is_admin

    def can_edit_contacts(self, user) -> bool:
        return user.role in CONTACT_EDITORS or (user.role is Role.COUNCIL_USER and user.council_id == self.id)

    def __repr__(self) -> str:
        return f"<Council {self.ine_code} {self.name}>"


class CouncilDomain(db.Model):
    """An e-mail domain whose senders belong to the council."""

    __tablename__ = "council_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"), index=True)
    domain: Mapped[str] = mapped_column(String(DOMAIN_MAX_LENGTH), unique=True)

    council: Mapped[Council] = relationship(back_populates="domains")


class CouncilPhone(db.Model):
    """A phone number (E.164) of the council's offices, to recognise who is calling."""

    __tablename__ = "council_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)

    council: Mapped[Council] = relationship(back_populates="phones")


class Contact(TimestampMixin, db.Model):
    """A person of a council; at most one per council is its municipal technical referent."""

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("council_id", "email", name="uq_contacts_council_id_email"),
        Index("uq_contacts_one_referent", "council_id", unique=True,
              sqlite_where=db.text("is_technical_referent"),
              postgresql_where=db.text("is_technical_referent")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    position: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH), default="")
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    is_technical_referent: Mapped[bool] = mapped_column(default=False)
    # The language the desk writes to them in; empty: not known, the desk's default (DEFAULT_LANGUAGE).
    language: Mapped[str] = mapped_column(String(8), default="")
    # E-mail about their platform (outages, planned maintenance: helpdesk/status); they can opt out.
    receives_platform_notices: Mapped[bool] = mapped_column(default=True)

    council: Mapped[Council] = relationship(back_populates="contacts")

    AUDITED = ("name", "position", "email", "phone", "is_technical_referent", "language", "receives_platform_notices")

    def can_view(self, user) -> bool:
        return user.is_staff or user.council_id == self.council_id

    def can_edit(self, user) -> bool:
        return self.council.can_edit_contacts(user)

    def __repr__(self) -> str:
        return f"<Contact {self.name} of {self.council_id}>"
