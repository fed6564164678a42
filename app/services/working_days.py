"""Working days between two moments for display (days left, days waiting), on the project's
calendar; provisional (weekends and 1 January off) while a needed year has no data."""

from __future__ import annotations

from datetime import datetime

import calendars


def days_left(now: datetime, due: datetime) -> tuple[int, bool]:
    """Working days from the date of ``now`` to the date of ``due`` (0 = due today, negative =
    overdue), and whether the count is provisional."""
    try:
        return calendars.remaining_working_days(now, due), False
    except calendars.CalendarYearMissing:
        return calendars.provisional_remaining_working_days(now, due)


def days_since(start: datetime, now: datetime) -> tuple[int, bool]:
    """Working days from the date of ``start`` to the date of ``now`` (0 on the same day)."""
    return days_left(start, now)
