"""In-app notifications (new task, warning, escalation, 督办), each optionally sent on by
e-mail or webhook: ``delivery`` tracks that channel like the outbox tracks the province."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.tables import HumanTask

from .base import Base, BigId
from .case import Case
from .user import User

# delivery states of the external channel
NOT_SENT, PENDING, SENT, FAILED = "none", "pending", "sent", "failed"


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_inbox", "user_id", "read_at", "id"),
        Index("ix_notification_delivery", "delivery", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    kind: Mapped[str] = mapped_column(String(32))  # task_offered, warning, escalation, urged …
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case_file.id"))
    task_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("wf_task.id"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    delivery: Mapped[str] = mapped_column(String(16), default=NOT_SENT)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User] = relationship()
    case: Mapped[Case | None] = relationship()
    # Set together with a task row not yet flushed (a task opened in the same step).
    task: Mapped[HumanTask | None] = relationship()
