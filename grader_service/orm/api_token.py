"""API tokens issued by grader-service itself (``grader-service token``).

Only a SHA-256 digest is stored: tokens are 32 random bytes, so a fast hash is enough
to make a leaked database useless for authentication, and lookups stay O(1).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, utcnow
from .user import User

TOKEN_PREFIX_LENGTH = 4


def hash_token(token: str) -> str:
    """The stored digest of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new random token, URL-safe."""
    return secrets.token_urlsafe(32)


class ApiToken(Base):
    """A hashed API token belonging to a user."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    hashed: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, kept in clear so an admin can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(TOKEN_PREFIX_LENGTH))
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)

    user: Mapped[User] = relationship()
