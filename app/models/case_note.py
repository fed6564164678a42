"""What people add to a case besides task forms: comments and evidence files.

Evidence bytes live on disk outside the web root (``instance/evidence``), named by their
SHA-256; the row keeps the original name, type and size, and who attached it when.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, BigId
from .case import Case
from .user import User


class CaseComment(Base):
    __tablename__ = "case_comment"
    __table_args__ = (Index("ix_case_comment_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    case: Mapped[Case] = relationship()
    author: Mapped[User] = relationship()


class EvidenceFile(Base):
    __tablename__ = "evidence_file"
    __table_args__ = (Index("ix_evidence_file_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"))
    # The user task it was attached at, if any (wf_task.id).
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("wf_task.id"))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    filename: Mapped[str] = mapped_column(String(255))  # as uploaded, shown to users
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))  # the name on disk
    created_at: Mapped[datetime]

    case: Mapped[Case] = relationship()
    uploader: Mapped[User] = relationship()
