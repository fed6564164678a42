"""Inbox filters a user saved by name, optionally shared with the user's department."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .department import Department
from .user import User


class SavedFilter(Base):
    __tablename__ = "saved_filter"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(50))
    # Set when shared: every member of that department sees it.
    shared_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    query: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the inbox's filter parameters
    created_at: Mapped[datetime]

    owner: Mapped[User] = relationship()
    shared_department: Mapped[Department | None] = relationship()
