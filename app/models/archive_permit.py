"""Permission, within one transaction of the archiver, to remove an archived case's history
(the database's append-only guard lets a case_event row go only when its case holds one)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class ArchivePermit(Base):
    __tablename__ = "archive_permit"

    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id", ondelete="CASCADE"), primary_key=True)
    granted_at: Mapped[datetime]
