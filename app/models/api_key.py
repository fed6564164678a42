"""API keys of rating sources (evaluation devices, QR pages, portals, apps, hotline, SMS).

A key is shown once when created; only its SHA-256 is stored (keys are 256 random bits, so
a fast hash is enough). The key's name is the ``source`` of the ratings it sends, and the
idempotency of intake is per source.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .rating_types import Channel
from .types import enum_type


class ApiKey(Base):
    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # The channel the source usually rates through (a rating may still name its own).
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "api_key_channel"))
    prefix: Mapped[str] = mapped_column(String(12))  # first characters, to recognise a key
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.revoked_at is None
