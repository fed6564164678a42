"""The append-only history of a case. Rows are never updated or deleted: the ORM refuses,
and database triggers (created by the migration) refuse what bypasses the ORM."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from .base import Base, BigId
from .case import Case
from .user import User


class AppendOnlyError(RuntimeError):
    pass


class CaseEvent(Base):
    __tablename__ = "case_event"
    __table_args__ = (UniqueConstraint("case_id", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case_file.id"), index=True)
    seq: Mapped[int]  # 1, 2, 3 … within the case
    # subject_past_verb: case_opened, task_completed, timer_fired, appeal_decided …
    event: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor: Mapped[str] = mapped_column(String(64))  # username, or "system" / "timer"
    occurred_at: Mapped[datetime]
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The tamper-evident chain (app/services/history_chain.py).
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    case: Mapped[Case] = relationship()
    actor_user: Mapped[User | None] = relationship()


@event.listens_for(CaseEvent, "before_update")
def _refuse_update(_mapper: Mapper[CaseEvent], _conn: Any, target: CaseEvent) -> None:
    raise AppendOnlyError(f"case history is append-only: event {target.id} cannot be changed")


@event.listens_for(CaseEvent, "before_delete")
def _refuse_delete(_mapper: Mapper[CaseEvent], _conn: Any, target: CaseEvent) -> None:
    raise AppendOnlyError(f"case history is append-only: event {target.id} cannot be deleted")
