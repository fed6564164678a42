"""Ratings (评价), with the fields of GB/T 39046-2020 table 9 and the upload interfaces (§7)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import privacy
from .base import Base
from .department import Department
from .rating_types import Channel, Dimension, EvaluatorType, IdType, Level
from .service_item import ServiceItem
from .service_record import ServiceRecord
from .staff_member import StaffMember
from .types import EncryptedText, enum_type


class Rating(Base):
    __tablename__ = "rating"
    __table_args__ = (
        # Idempotency: a source's own id is accepted once.
        UniqueConstraint("source", "external_id"),
        # 一次一评: one first rating and one follow-up per service record, even under races.
        Index("uq_rating_service_record_id_sequence", "service_record_id", "sequence", unique=True),
        Index("ix_rating_department_evaluated", "department_id", "evaluated_at"),
        # Reports aggregate a period's ratings from this index alone (an index-only scan
        # on PostgreSQL): every column the figures group or filter by, received_at first.
        Index("ix_rating_report", "received_at", "sequence", "excluded", "level", "department_id", "channel",
              "service_item_id", "staff_member_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(64))  # the API key's source name
    external_id: Mapped[str] = mapped_column(String(128))
    service_record_id: Mapped[int] = mapped_column(ForeignKey("service_record.id"), index=True)
    # Copied from the service record when the rating arrives, for statistics by item and department.
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_item.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    staff_member_id: Mapped[int | None] = mapped_column(ForeignKey("staff_member.id"), index=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"))
    level: Mapped[Level] = mapped_column(enum_type(Level, "level"))
    comment: Mapped[str | None] = mapped_column(Text)  # 文字评价
    # 评价次数: 1 for the first rating of a service record, 2 for a follow-up (追评).
    sequence: Mapped[int] = mapped_column(default=1)
    region_code: Mapped[str | None] = mapped_column(String(6))  # 行政区划
    evaluated_at: Mapped[datetime]  # 评价时间, as the device recorded it
    received_at: Mapped[datetime]  # when this system received it; deadlines count from here

    # 评价人. Anonymous ratings carry none of these (and get no contact or return visit).
    real_name: Mapped[bool] = mapped_column(default=False)
    evaluator_type: Mapped[EvaluatorType] = mapped_column(
        enum_type(EvaluatorType, "evaluator_type"), default=EvaluatorType.PERSON)
    evaluator_name: Mapped[str | None] = mapped_column(EncryptedText)
    evaluator_phone: Mapped[str | None] = mapped_column(EncryptedText)
    evaluator_phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    evaluator_id_type: Mapped[IdType | None] = mapped_column(enum_type(IdType, "id_type"))
    evaluator_id_no: Mapped[str | None] = mapped_column(EncryptedText)
    evaluator_id_index: Mapped[str | None] = mapped_column(String(64), index=True)

    # R10: an upheld appeal excludes the rating from statistics; it is never deleted.
    excluded: Mapped[bool] = mapped_column(default=False)
    excluded_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())

    service_record: Mapped[ServiceRecord] = relationship()
    service_item: Mapped[ServiceItem] = relationship()
    department: Mapped[Department] = relationship()
    staff_member: Mapped[StaffMember | None] = relationship()
    dimension_tags: Mapped[list[RatingDimension]] = relationship(
        back_populates="rating", cascade="all, delete-orphan", lazy="selectin")

    @property
    def dimensions(self) -> list[Dimension]:
        return [tag.dimension for tag in self.dimension_tags]

    @property
    def is_follow_up(self) -> bool:
        return self.sequence > 1

    def set_evaluator(self, *, name: str | None, phone: str | None, id_type: IdType | None,
                      id_no: str | None) -> None:
        """Store personal data encrypted, with blind indexes for matching."""
        for column, value in evaluator_values(name=name, phone=phone, id_type=id_type, id_no=id_no).items():
            setattr(self, column, value)

    @property
    def masked_evaluator_name(self) -> str:
        return privacy.mask_name(self.evaluator_name)

    @property
    def masked_evaluator_phone(self) -> str:
        return privacy.mask_phone(self.evaluator_phone)

    @property
    def masked_evaluator_id_no(self) -> str:
        return privacy.mask_id_no(self.evaluator_id_no)


class RatingDimension(Base):
    __tablename__ = "rating_dimension"

    rating_id: Mapped[int] = mapped_column(ForeignKey("rating.id", ondelete="CASCADE"), primary_key=True)
    dimension: Mapped[Dimension] = mapped_column(enum_type(Dimension, "dimension"), primary_key=True)

    rating: Mapped[Rating] = relationship(back_populates="dimension_tags")


def evaluator_values(*, name: str | None, phone: str | None, id_type: IdType | None,
                     id_no: str | None) -> dict[str, Any]:
    """The evaluator columns of a rating: personal data (encrypted by the column type when
    written) and keyed blind indexes for matching."""
    cipher = privacy.cipher()
    return {"evaluator_name": name or None, "evaluator_phone": phone or None,
            "evaluator_phone_index": cipher.blind_index(phone) if phone else None,
            "evaluator_id_type": id_type, "evaluator_id_no": id_no or None,
            "evaluator_id_index": cipher.blind_index(id_no) if id_no else None}
