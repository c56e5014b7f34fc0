"""A council's platform instance (one Decidim organisation)."""
from __future__ import annotations

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ColumnElement, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from helpdesk.auth.models import Role
from helpdesk.core.models import TimestampMixin, UTCDateTime, council_scope, enum_type
from helpdesk.core.sealing import SealBroken, seal, unseal
from helpdesk.extensions import db
from helpdesk.instances.decidim import ApiCredentials, ApiToken
from helpdesk.instances.states import InstanceStatus

URL_MAX_LENGTH = 255
VERSION_PATTERN = r"^\d+\.\d+(\.\d+)?([.-][0-9A-Za-z.]+)?$"

# Decidim's participatory spaces and components, by manifest name (see shared/fixtures/decidim/NOTES.md).
KNOWN_MODULES = {
    "participatory_processes": _l("Participatory processes"),
    "assemblies": _l("Assemblies"),
    "conferences": _l("Conferences"),
    "initiatives": _l("Initiatives"),
    "proposals": _l("Proposals"),
    "meetings": _l("Meetings"),
    "surveys": _l("Surveys"),
    "budgets": _l("Budgets"),
    "accountability": _l("Accountability"),
    "pages": _l("Pages"),
    "blogs": _l("Blog"),
    "debates": _l("Debates"),
    "sortitions": _l("Sortitions"),
    "elections": _l("Elections"),
}

INSTANCE_EDITORS = frozenset({Role.ADMIN, Role.TECHNICIAN})
CREDENTIAL_MAX_LENGTH = 255
SECRET_MAX_LENGTH = 1000

# What the last look at the platform's API (a refresh or the monitor) said about getting in; "" not known yet.
API_ACCESS_LABELS = {
    "open": _l("The API answers without credentials."),
    "signed_in": _l("The API answers with the instance's API credentials."),
    "forced_login": _l("The platform forces everyone to sign in: its API does not answer the desk."),
    "missing": _l("This platform requires API credentials and none are set: add the key and secret of an API "
                  "user (made in the platform's system panel) on the instance's edit page."),
    "refused": _l("The platform refused the instance's API credentials: check the API key and secret (the API "
                  "user may have been removed or its secret changed)."),
    "unusable": _l("The instance's API credentials cannot be used: the platform offers no API sign-in (Decidim "
                   "before 0.31), or signed in without giving a token (its DECIDIM_API_JWT_SECRET may be unset)."),
    "unreadable": _l("The API secret was saved under another secret key of the desk: type it again."),
}
API_ACCESS_PROBLEMS = frozenset({"forced_login", "missing", "refused", "unusable", "unreadable"})


class PlatformInstance(TimestampMixin, db.Model):
    __tablename__ = "platform_instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    council_id: Mapped[int] = mapped_column(ForeignKey("councils.id"), index=True)
    base_url: Mapped[str] = mapped_column(String(URL_MAX_LENGTH), unique=True)
    decidim_version: Mapped[str] = mapped_column(String(32), default="")
    enabled_modules: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[InstanceStatus] = mapped_column(enum_type(InstanceStatus),
                                                   default=InstanceStatus.PROVISIONING, index=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # What the platform itself said at the last refresh (see instances/decidim.py).
    application_name: Mapped[str] = mapped_column(String(200), default="")
    organisation_name: Mapped[str] = mapped_column(String(200), default="")
    spaces: Mapped[list[dict]] = mapped_column(JSON, default=list)
    facts_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    facts_error: Mapped[str] = mapped_column(Text, default="")  # empty when the last refresh worked
    # Health, as the monitor last saw it (see tickets/outages.py).
    health: Mapped[str] = mapped_column(String(16), default="unknown")  # up, down or unknown
    failures_in_a_row: Mapped[int] = mapped_column(default=0)
    health_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    down_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Decidim 0.31+ API credentials (an API user of the platform's system panel), the secret and the token
    # they obtain sealed (core.sealing); the token is reused until it expires. None: not set.
    api_key: Mapped[str | None] = mapped_column(String(CREDENTIAL_MAX_LENGTH))
    api_secret_sealed: Mapped[str | None] = mapped_column(Text)
    api_token_sealed: Mapped[str | None] = mapped_column(Text)
    api_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    api_access: Mapped[str] = mapped_column(String(16), default="")  # a key of API_ACCESS_LABELS, or ""
    # The desk's OAuth application on the platform (for signing people in with it), the secret sealed.
    oauth_client_id: Mapped[str | None] = mapped_column(String(CREDENTIAL_MAX_LENGTH))
    oauth_client_secret_sealed: Mapped[str | None] = mapped_column(Text)

    council = relationship("Council", backref=backref("instances", order_by="PlatformInstance.id"))

    AUDITED = ("base_url", "decidim_version", "enabled_modules", "status", "notes")

    @property
    def host(self) -> str:
        return self.base_url.removeprefix("https://")

    @property
    def has_api_credentials(self) -> bool:
        return bool(self.api_key and self.api_secret_sealed)

    def api_credentials(self, secret_key: str) -> ApiCredentials | None:
        """The key, secret and kept token to read the API with (None when not set); SealBroken when they
        were sealed under another SECRET_KEY (a token that cannot be unsealed is only dropped)."""
        if not self.has_api_credentials:
            return None
        credentials = ApiCredentials(str(self.api_key), unseal(str(self.api_secret_sealed), secret_key))
        if self.api_token_sealed:
            try:
                credentials.token = ApiToken(unseal(self.api_token_sealed, secret_key), self.api_token_expires_at)
            except SealBroken:
                credentials.token = None  # signing in again gives a new one
        return credentials

    def keep_api_token(self, credentials: ApiCredentials | None, secret_key: str) -> None:
        """Keep the token a client obtained (sealed), so the next look reuses it until it expires."""
        if credentials is not None and credentials.token_changed and credentials.token is not None:
            self.api_token_sealed = seal(credentials.token.value, secret_key)
            self.api_token_expires_at = credentials.token.expires_at
            credentials.token_changed = False

    @staticmethod
    def visible_to(user) -> ColumnElement[bool]:
        """The query condition for the instances ``user`` may see."""
        return council_scope(PlatformInstance.council_id, user)

    def can_view(self, user) -> bool:
        return user.is_staff or user.council_id == self.council_id

    def can_edit(self, user) -> bool:
        return user.role in INSTANCE_EDITORS

    def __repr__(self) -> str:
        return f"<PlatformInstance {self.base_url}>"


class DecidimRelease(TimestampMixin, db.Model):
    """A Decidim release as the desk knows it (seeded, kept up to date by administrators): the desk never
    needs the internet to say whether an instance is current, behind or unsupported."""

    __tablename__ = "decidim_releases"
    AUDITED = ("version", "released_on", "supported", "notes")

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(32), unique=True)
    released_on: Mapped[date] = mapped_column(Date)
    supported: Mapped[bool] = mapped_column(default=False)  # upstream still gives it security fixes
    notes: Mapped[str] = mapped_column(Text, default="")


class HealthCheck(db.Model):
    """One look at an instance: kept for two days, then summed up in HealthDay."""

    __tablename__ = "health_checks"
    __table_args__ = (Index("ix_health_checks_instance_checked", "instance_id", "checked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    up: Mapped[bool]
    status_code: Mapped[int | None]
    latency_ms: Mapped[int | None]
    error: Mapped[str] = mapped_column(String(500), default="")


class HealthDay(db.Model):
    """An instance's checks of one day (UTC): how many, how many up, their mean latency."""

    __tablename__ = "health_days"
    __table_args__ = (UniqueConstraint("instance_id", "day", name="uq_health_days_instance_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    checks: Mapped[int] = mapped_column(default=0)
    up_checks: Mapped[int] = mapped_column(default=0)
    latency_ms_total: Mapped[int] = mapped_column(default=0)


class Outage(db.Model):
    """A time an instance stopped answering, from the first failed check to the first good one after."""

    __tablename__ = "outages"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("platform_instances.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", use_alter=True))
    last_error: Mapped[str] = mapped_column(String(500), default="")
    noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last failure note on the ticket

    instance = relationship(PlatformInstance, backref=backref("outages", order_by="Outage.started_at.desc()"))
