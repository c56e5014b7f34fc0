"""Personal access tokens of the API and the answers kept for idempotency keys."""
from __future__ import annotations

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from helpdesk.auth.models import User
from helpdesk.core.models import UTCDateTime, enum_type, utcnow
from helpdesk.extensions import db

TOKEN_NAME_MAX_LENGTH = 100
#: What a token's secret starts with, so that a leaked one is recognised (by people and secret scanners).
TOKEN_PREFIX = "p311_"
IDEMPOTENCY_KEY_MAX_LENGTH = 200


class TokenScope(enum.Enum):
    READ = "read"  # GET only
    WRITE = "write"  # GET and every change

    @property
    def label(self) -> str:
        return str(SCOPE_LABELS[self])


SCOPE_LABELS = {TokenScope.READ: _l("Read only"), TokenScope.WRITE: _l("Read and write")}


class ApiToken(db.Model):
    """A personal access token: it acts as its user. The database keeps the SHA-256 of the secret only."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_user_id_revoked_at", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(TOKEN_NAME_MAX_LENGTH))
    scope: Mapped[TokenScope] = mapped_column(enum_type(TokenScope))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    # The secret's first characters, shown in the list so that its owner can tell tokens apart.
    hint: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_address: Mapped[str] = mapped_column(String(64), default="")

    user: Mapped[User] = relationship(lazy="joined")

    AUDITED = ("name", "scope", "expires_at", "revoked_at")

    #: The secret, known only in the request that created the token (not a column).
    secret = None  # a str

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def can_write(self) -> bool:
        return self.scope is TokenScope.WRITE


class IdempotencyKey(db.Model):
    """The first answer to a create sent with an ``Idempotency-Key``: the same key from the same token gets it
    again instead of a second record (kept IDEMPOTENCY_HOURS)."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("token_id", "key", name="uq_api_idempotency_keys_token_id_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(IDEMPOTENCY_KEY_MAX_LENGTH))
    # What was asked (method, path and a digest of the body): the same key for another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int]
    body: Mapped[dict] = mapped_column(JSON)
    location: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
