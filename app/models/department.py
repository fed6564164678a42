"""Departments (政务服务机构): who handles a service and answers for its bad ratings (R5)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, func
from sqlalchemy.orm import Mapped, mapped_column, validates

from ..identifiers import validate_uscc
from .base import Base


class Department(Base):
    __tablename__ = "department"
    __table_args__ = (
        CheckConstraint("length(credit_code) = 18", name="credit_code_length"),
        CheckConstraint("length(region_code) = 6", name="region_code_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # 统一社会信用代码: the department's identity in the provincial system.
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    short_name: Mapped[str] = mapped_column(String(30))
    # 行政区划代码 of the district the department belongs to.
    region_code: Mapped[str] = mapped_column(String(6))
    # Hosts the verifiers (政务服务中心); appeals are decided there, never by the department itself.
    is_service_center: Mapped[bool] = mapped_column(default=False)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    @validates("credit_code")
    def _check_credit_code(self, _key: str, value: str) -> str:
        return validate_uscc(value)

    def __repr__(self) -> str:
        return f"<Department {self.credit_code} {self.name}>"
