"""Whole numbers and dates read from request parameters, checked before they reach a query.

``str.isdigit`` alone is not enough: it accepts superscripts and other digits (``²``) that
``int`` refuses, and digit strings of any length (Python converts at most 4,300 digits, and
SQLite binds at most 64 bits). A date must lie where the database can count whole days
around it (``date.max`` plus one day does not exist).
"""

from __future__ import annotations

from datetime import date
from typing import Any

MAX_ID = 2**63 - 1
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)


def whole_number(raw: Any, limit: int = MAX_ID) -> int | None:
    """The number 1..``limit`` that ``raw`` writes in ASCII digits (blanks around it
    allowed), or None."""
    text = "" if raw is None else str(raw).strip()
    if not text or not (text.isascii() and text.isdigit()) or len(text) > len(str(limit)):
        return None
    number = int(text)
    return number if 1 <= number <= limit else None


def day_in_range(day: date) -> bool:
    return EARLIEST_DAY <= day <= LATEST_DAY


DAY_RANGE_MESSAGE = f"须在 {EARLIEST_DAY} 至 {LATEST_DAY} 之间"
