"""What users did outside cases (issue 8): sign-ins and failed sign-ins, role changes, API
keys and tokens created, calendar data loaded, processes deployed, exports, audit checks.
Append-only like the case history (ORM guard here, database triggers in the migration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from .base import Base, BigId
from .case_event import AppendOnlyError


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_time", "occurred_at"),
        Index("ix_audit_log_action_time", "action", "occurred_at"),
        Index("ix_audit_log_actor_time", "actor", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    occurred_at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    actor: Mapped[str] = mapped_column(String(64))  # username, the name tried, or "system"
    action: Mapped[str] = mapped_column(String(48))  # login, login_failed, roles_changed …
    target: Mapped[str | None] = mapped_column(String(200))  # what it was done to
    ip: Mapped[str | None] = mapped_column(String(45))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(_mapper: Mapper[AuditEntry], _conn: Any, target: AuditEntry) -> None:
    raise AppendOnlyError(f"the audit log is append-only: entry {target.id} cannot be changed")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(_mapper: Mapper[AuditEntry], _conn: Any, target: AuditEntry) -> None:
    raise AppendOnlyError(f"the audit log is append-only: entry {target.id} cannot be deleted")
