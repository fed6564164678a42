"""The outbox to the provincial 好差评 system (R11): every rating and case milestone is
written here in the transaction of its change, and pushed later. A record's id is its
stable identity at the receiver, so a retried batch is recognisable and nothing is
delivered twice; records of one ``stream`` (a case, a rating) are delivered in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, BigId

PENDING, DELIVERED = "pending", "delivered"


class OutboxRecord(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_stream", "stream", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # evaluation / case_milestone
    stream: Mapped[str] = mapped_column(String(64))  # ordering key: "case:CP…" or "rating:123"
    payload: Mapped[dict[str, Any]]  # in the national interface's terms and codes
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
