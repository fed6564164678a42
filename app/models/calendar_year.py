"""Holiday data loaded by administrators (``hcp calendar load``). Each load is a new
version of its year; the newest version of a year overrides the file shipped in
``calendars/data``. Versions are kept so a case can be replayed on the calendar as it was."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class CalendarYearVersion(Base):
    __tablename__ = "calendar_year_version"
    __table_args__ = (Index("ix_calendar_year_version_year_id", "year", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int]
    # The year's data as ``calendars.YearData.to_dict()`` writes it.
    data: Mapped[dict[str, Any]]
    source: Mapped[str] = mapped_column(String(255))  # the file name it was loaded from
    sha256: Mapped[str] = mapped_column(String(64))  # of the file's bytes
    loaded_by: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime]
