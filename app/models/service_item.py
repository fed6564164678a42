"""Government service items (政务服务事项), each with its unified code and owning department."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base
from .department import Department
from .types import LabelledEnum, enum_type


class ItemKind(LabelledEnum):
    """事项类型 as the national catalogue groups them; ``catalogue_code`` is its code there."""

    LICENSING = ("licensing", "行政许可")
    BENEFIT = ("benefit", "行政给付")
    CONFIRMATION = ("confirmation", "行政确认")
    OTHER = ("other", "其他行政权力")
    PUBLIC_SERVICE = ("public_service", "公共服务")

    @property
    def catalogue_code(self) -> str:
        return _CATALOGUE_CODES[self]


_CATALOGUE_CODES = {
    ItemKind.LICENSING: "01",
    ItemKind.BENEFIT: "05",
    ItemKind.CONFIRMATION: "07",
    ItemKind.OTHER: "10",
    ItemKind.PUBLIC_SERVICE: "20",
}


class ServiceItem(Base):
    __tablename__ = "service_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    # 事项编码 (implementation code) as the provincial catalogue issues it.
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[ItemKind] = mapped_column(enum_type(ItemKind, "item_kind"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), index=True)
    # 承诺时限: promised processing time in working days, where the guide states one.
    promised_days: Mapped[int | None]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    department: Mapped[Department] = relationship()
