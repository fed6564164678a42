"""Provisional working-day arithmetic for years without data (DESIGN.md §3): weekends and
1 January off; the flag tells whether such a year was used."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

import calendars


@pytest.mark.parametrize(("day", "n", "expected", "provisional"), [
    (date(2026, 12, 31), 3, date(2027, 1, 6), True),  # 2027-01-01 off, then Mon-Wed
    (date(2027, 1, 4), -1, date(2026, 12, 31), True),
    (date(2026, 10, 9), -1, date(2026, 10, 8), False),  # inside 2026: exact, not provisional
    (date(2026, 10, 2), 0, date(2026, 10, 8), False),
])
def test_provisional_add_working_days(day: date, n: int, expected: date, provisional: bool) -> None:
    assert calendars.provisional_add_working_days(day, n) == (expected, provisional)


def test_provisional_remaining_working_days() -> None:
    now = datetime(2026, 12, 30, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing
    due = datetime(2027, 1, 7, 15, 59, 59, tzinfo=timezone.utc)  # 23:59:59 in Beijing
    assert calendars.provisional_remaining_working_days(now, due) == (5, True)
    inside = datetime(2026, 10, 13, 15, 59, 59, tzinfo=timezone.utc)
    start = datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc)
    assert calendars.provisional_remaining_working_days(start, inside) == \
        (calendars.remaining_working_days(start, inside), False)
    with pytest.raises(calendars.CalendarYearMissing):
        calendars.remaining_working_days(now, due)
