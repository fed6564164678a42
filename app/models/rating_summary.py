"""Monthly rating totals (reports, R9): the ratings of a month that has ended, counted per
department, channel, level, exclusion and 评价次数. A month is rolled up once
(``RatingMonthRollup``); from then on database triggers (migration 0008) keep its totals
in step with every later change of the ratings — a rating received late, an exclusion by
an upheld appeal — so the totals always equal a count of the rating table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base
from .rating_types import Channel, Level
from .types import enum_type


class RatingMonthRollup(Base):
    __tablename__ = "rating_month_rollup"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)  # "2026-10", Beijing time
    rolled_up_at: Mapped[datetime]
    ratings: Mapped[int]  # ratings of the month when it was rolled up


class RatingMonthTotal(Base):
    __tablename__ = "rating_month_total"

    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"), primary_key=True)
    channel: Mapped[Channel] = mapped_column(enum_type(Channel, "channel"), primary_key=True)
    level: Mapped[Level] = mapped_column(enum_type(Level, "level"), primary_key=True)
    excluded: Mapped[bool] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(primary_key=True)
    ratings: Mapped[int]
