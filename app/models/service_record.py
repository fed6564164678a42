"""Service records (办件): one handling of a service item for a citizen or company."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .department import Department
from .service_item import ServiceItem
from .staff_member import StaffMember


class ServiceRecord(Base):
    __tablename__ = "service_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 办件编号 as the 一窗式 platform numbers it.
    record_no: Mapped[str] = mapped_column(String(64), unique=True)
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"), index=True)
    # The handling department (R5: 谁办理谁负责), which may differ from the item's owner.
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"), index=True)
    accepted_at: Mapped[datetime | None]  # 受理时间
    completed_at: Mapped[datetime | None]  # 办结时间
    # Created from a rating that named an unknown record number; the 一窗式 platform's
    # data completes it when it arrives (no rating is lost for ordering reasons).
    awaiting_platform: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    service_item: Mapped[ServiceItem] = relationship()
    department: Mapped[Department] = relationship()
    staff_member: Mapped[StaffMember | None] = relationship()
