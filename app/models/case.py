"""Cases (差评工单): one per bad rating, worked by the handling department to a closed loop."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflows.tables import ProcessInstance

from .base import Base, BigId
from .department import Department
from .rating import Rating
from .types import LabelledEnum, enum_type


class CaseStatus(LabelledEnum):
    OPEN = ("open", "办理中")
    CLOSED = ("closed", "已办结")


class CaseStage(LabelledEnum):
    """Where the case stands in the bad-review process (DESIGN.md §5)."""

    ROUTING = ("routing", "分派")
    ON_SPOT = ("on_spot", "当场解决")
    CONTACT = ("contact", "联系群众")
    RECTIFICATION = ("rectification", "整改")
    APPEAL = ("appeal", "申诉审核")
    RECHECK = ("recheck", "复核")
    RETURN_VISIT = ("return_visit", "回访")
    SUPERVISOR_DECISION = ("supervisor_decision", "督办裁定")
    FILING = ("filing", "备案")
    CLOSED = ("closed", "已办结")


class CaseOutcome(LabelledEnum):
    RESOLVED_ON_SPOT = ("resolved_on_spot", "当场解决")
    RECTIFIED = ("rectified", "整改完成")
    EXPLAINED = ("explained", "解释说明（无实际问题）")
    APPEAL_UPHELD = ("appeal_upheld", "申诉成立")
    SUPERVISOR_CLOSED = ("supervisor_closed", "督办裁定办结")


class Case(Base):
    __tablename__ = "case_file"  # "case" is an SQL keyword
    __table_args__ = (
        Index("ix_case_file_department_status", "department_id", "status"),
        Index("ix_case_file_status_stage", "status", "stage"),
        Index("uq_case_file_instance_id", "instance_id", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_no: Mapped[str] = mapped_column(String(32), unique=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id"), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    # The bad_review process instance that runs the case (business key = case_no).
    instance_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("wf_instance.id"))
    status: Mapped[CaseStatus] = mapped_column(enum_type(CaseStatus, "case_status"), default=CaseStatus.OPEN)
    stage: Mapped[CaseStage] = mapped_column(enum_type(CaseStage, "case_stage"), default=CaseStage.ROUTING)
    # R7: all deadlines count from the day the rating was received.
    received_at: Mapped[datetime]
    contact_due_at: Mapped[datetime | None]  # 3 working days
    rectify_due_at: Mapped[datetime | None]  # 5 working days
    close_due_at: Mapped[datetime | None]  # 15 working days, for a complex case
    # True while a needed calendar year is missing (DESIGN.md §3): weekends and 1 January only.
    deadlines_provisional: Mapped[bool] = mapped_column(default=False)
    is_complex: Mapped[bool] = mapped_column(default=False)
    complex_reason: Mapped[str | None] = mapped_column(Text)
    overdue: Mapped[bool] = mapped_column(default=False)
    reopen_count: Mapped[int] = mapped_column(default=0)
    outcome: Mapped[CaseOutcome | None] = mapped_column(enum_type(CaseOutcome, "case_outcome"))
    opened_at: Mapped[datetime] = mapped_column(server_default=func.now())
    closed_at: Mapped[datetime | None]
    # The head of the case's history chain (app/services/history_chain.py): how many events
    # it has and the hash of the newest, so that deleting the newest events is detected.
    history_count: Mapped[int] = mapped_column(default=0, server_default="0")
    history_head: Mapped[str] = mapped_column(String(64), default="0" * 64, server_default="0" * 64)
    # Optimistic locking: a stale write (two people on one case) fails instead of overwriting.
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    rating: Mapped[Rating] = relationship()
    department: Mapped[Department] = relationship()
    instance: Mapped[ProcessInstance | None] = relationship()

    def __repr__(self) -> str:
        return f"<Case {self.case_no} {self.stage.value}>"
