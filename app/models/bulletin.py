"""Monthly bulletins (一月一通报, R9): each generation is stored as it was published, and a
later correction is a new revision, never an overwrite."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class Bulletin(Base):
    __tablename__ = "bulletin"
    __table_args__ = (UniqueConstraint("month", "revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(String(7))  # "2026-11": a calendar month in Beijing time
    revision: Mapped[int] = mapped_column(default=1)  # 1, then 2, 3 … for regenerations
    generated_at: Mapped[datetime]
    generated_by: Mapped[str] = mapped_column(String(64))  # a username, or "system" (scheduled)
    # Everything the bulletin says (figures, rankings, flags, chart data), as published.
    content: Mapped[dict[str, Any]]

    def __repr__(self) -> str:
        return f"<Bulletin {self.month} r{self.revision}>"
