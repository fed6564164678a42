"""Deadlines and working-day arithmetic: exact results at the edges."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

import calendars
from calendars import (
    CalendarError,
    CalendarYearMissing,
    add_working_days,
    deadline,
    is_working_day,
    provisional_deadline,
    remaining_working_days,
    working_days_between,
)

SH = ZoneInfo("Asia/Shanghai")


def at(text: str) -> datetime:
    """A moment given as ISO text; without an offset it is Asia/Shanghai time."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=SH)


def eod(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T23:59:59").replace(tzinfo=SH)


@pytest.mark.parametrize(("received", "n", "expected"), [
    # New Year 2026: 2026-01-01..03 off, Sunday 2026-01-04 worked.
    ("2025-12-30T09:00", 5, "2026-01-07"),
    ("2025-12-30T09:00", 1, "2025-12-31"),
    ("2025-12-30T09:00", 2, "2026-01-04"),
    # Friday before the Spring Festival: 02-14 (Sat) worked, 02-15..23 off, 02-28 (Sat) worked.
    ("2026-02-13T09:00", 1, "2026-02-14"),
    ("2026-02-13T09:00", 3, "2026-02-25"),
    ("2026-02-13T09:00", 5, "2026-02-27"),
    ("2026-02-13T09:00", 6, "2026-02-28"),
    ("2026-02-13T09:00", 15, "2026-03-12"),
    # Received on a Saturday make-up working day: that day is day 0 all the same.
    ("2026-02-14T10:00", 1, "2026-02-24"),
    ("2026-02-14T10:00", 5, "2026-02-28"),
    ("2026-02-28T10:00", 1, "2026-03-02"),
    ("2026-02-28T10:00", 3, "2026-03-04"),
    # Received on a holiday: day 1 is the first working day after it.
    ("2026-10-02T15:00", 1, "2026-10-08"),
    ("2026-10-02T15:00", 3, "2026-10-10"),
    ("2026-10-02T15:00", 4, "2026-10-12"),
    ("2026-09-30T10:00:00+08:00", 3, "2026-10-10"),
    # Received on an ordinary Sunday.
    ("2025-03-02T08:00", 1, "2025-03-03"),
    # Received at the very end or start of a Shanghai day.
    ("2025-03-03T23:59:59", 1, "2025-03-04"),
    ("2025-03-04T00:00:00", 1, "2025-03-05"),
    # Received on 2018-12-29, the Saturday worked for 元旦 2019.
    ("2018-12-29T09:00", 1, "2019-01-02"),
])
def test_deadline(received: str, n: int, expected: str) -> None:
    result = deadline(at(received), n)
    assert result == eod(expected)
    assert result.tzinfo == SH and result.utcoffset() == timedelta(hours=8)
    assert result.isoformat() == f"{expected}T23:59:59+08:00"


def test_utc_evening_is_already_the_next_day_in_shanghai() -> None:
    # 17:30 UTC on Friday 2026-02-13 is 01:30 on Saturday 2026-02-14 in Shanghai.
    utc = datetime(2026, 2, 13, 17, 30, tzinfo=timezone.utc)
    assert deadline(utc, 1) == eod("2026-02-24")
    assert deadline(utc.replace(hour=15, minute=59, second=59), 1) == eod("2026-02-14")
    # 16:30 UTC on 2025-12-31 is 00:30 on the 2026-01-01 holiday in Shanghai.
    assert deadline(datetime(2025, 12, 31, 16, 30, tzinfo=timezone.utc), 1) == eod("2026-01-04")
    new_york = datetime(2026, 2, 13, 12, 30, tzinfo=ZoneInfo("America/New_York"))
    assert deadline(new_york, 1) == eod("2026-02-24")


def test_deadline_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError) as info:
        deadline(datetime(2026, 2, 13, 9, 0), 3)
    assert str(info.value) == ("received_at needs a timezone: got the naive datetime "
                               "2026-02-13T09:00:00")
    with pytest.raises(TypeError, match="received_at must be a timezone-aware datetime, not date"):
        deadline(date(2026, 2, 13), 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(("n", "expected"), [
    (0, "working_days must be at least 1, got 0"),
    (-3, "working_days must be at least 1, got -3"),
    (True, "working_days must be an int, not bool"),
    (3.0, "working_days must be an int, not float"),
    ("3", "working_days must be an int, not str"),
])
def test_deadline_refuses_bad_working_days(n: object, expected: str) -> None:
    with pytest.raises(ValueError) as info:
        deadline(at("2026-02-13T09:00"), n)  # type: ignore[arg-type]
    assert str(info.value) == expected
    with pytest.raises(ValueError):
        provisional_deadline(at("2026-02-13T09:00"), n)  # type: ignore[arg-type]


def test_missing_year_is_never_a_silent_fallback() -> None:
    with pytest.raises(CalendarYearMissing) as info:
        is_working_day(date(2027, 1, 4))
    assert info.value.year == 2027
    assert str(info.value) == ("no holiday data for year 2027: the State Council notice on "
                               "the 2027 holiday arrangements has not been loaded")
    assert isinstance(info.value, CalendarError)
    with pytest.raises(CalendarYearMissing) as across:
        deadline(at("2026-12-28T09:00"), 5)
    assert across.value.year == 2027
    with pytest.raises(CalendarYearMissing, match="year 2017"):
        deadline(at("2017-12-29T09:00"), 1)
    with pytest.raises(CalendarYearMissing, match="year 2017"):
        add_working_days(date(2018, 1, 2), -1)   # 2018-01-01 is 元旦: the answer is in 2017
    with pytest.raises(CalendarYearMissing, match="year 2027"):
        calendars.year_data(2027)


def test_deadline_within_the_last_covered_days() -> None:
    assert deadline(at("2026-12-28T09:00"), 3) == eod("2026-12-31")
    # Received on 31 December: only the following year is needed.
    assert deadline(at("2017-12-31T09:00"), 1) == eod("2018-01-02")


def test_provisional_deadline_across_a_missing_year() -> None:
    # 2026-12-29, -30, -31 are days 1-3; 2027-01-01 (Friday) is provisionally off,
    # 2027-01-02/03 are a weekend, so days 4 and 5 are 2027-01-04 and 2027-01-05.
    assert provisional_deadline(at("2026-12-28T09:00"), 5) == (eod("2027-01-05"), True)
    assert provisional_deadline(at("2026-12-31T09:00"), 1) == (eod("2027-01-04"), True)
    assert provisional_deadline(at("2027-03-05T09:00"), 1) == (eod("2027-03-08"), True)


def test_provisional_deadline_is_exact_when_all_years_are_present() -> None:
    for received, n in (("2026-09-30T10:00:00+08:00", 3), ("2026-12-28T09:00", 3),
                        ("2017-12-31T09:00", 1), ("2025-12-30T09:00", 5)):
        assert provisional_deadline(at(received), n) == (deadline(at(received), n), False)


def test_is_working_day_takes_dates_and_aware_datetimes() -> None:
    assert is_working_day(date(2026, 2, 14)) is True       # Saturday make-up day
    assert is_working_day(date(2026, 2, 16)) is False      # 春节
    assert is_working_day(date(2026, 3, 7)) is False       # plain Saturday
    assert is_working_day(datetime(2026, 2, 13, 17, 0, tzinfo=timezone.utc)) is True  # 02-14
    assert is_working_day(datetime(2026, 2, 14, 17, 0, tzinfo=timezone.utc)) is False  # 02-15
    with pytest.raises(ValueError, match="day needs a timezone"):
        is_working_day(datetime(2026, 2, 13, 17, 0))
    with pytest.raises(TypeError, match="day must be a date, not str"):
        is_working_day("2026-02-13")  # type: ignore[arg-type]


@pytest.mark.parametrize(("start", "n", "expected"), [
    ("2026-02-13", 1, "2026-02-14"),
    ("2026-02-13", 15, "2026-03-12"),
    ("2026-02-24", -1, "2026-02-14"),
    ("2026-02-24", -2, "2026-02-13"),
    ("2026-02-16", -1, "2026-02-14"),     # from a holiday: the last working day before it
    ("2026-01-05", -2, "2025-12-31"),     # back across New Year (01-04 is worked)
    ("2026-01-04", -1, "2025-12-31"),
    ("2026-02-13", 0, "2026-02-13"),      # zero on a working day: the day itself
    ("2026-02-14", 0, "2026-02-14"),      # a make-up Saturday is a working day
    ("2026-02-15", 0, "2026-02-24"),      # zero on a day off: the next working day
    ("2026-03-07", 0, "2026-03-09"),
    ("2025-12-31", 1, "2026-01-04"),
])
def test_add_working_days(start: str, n: int, expected: str) -> None:
    assert add_working_days(date.fromisoformat(start), n) == date.fromisoformat(expected)


def test_add_working_days_refuses_non_integers() -> None:
    with pytest.raises(ValueError, match="delta must be an int, not bool"):
        add_working_days(date(2026, 2, 13), True)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="delta must be an int, not float"):
        add_working_days(date(2026, 2, 13), 1.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(("a", "b", "expected"), [
    ("2026-02-13", "2026-03-12", 15),
    ("2026-03-12", "2026-02-13", -15),
    ("2026-02-13", "2026-02-13", 0),
    ("2026-02-15", "2026-02-23", 0),      # inside the holiday
    ("2026-02-13", "2026-02-14", 1),      # the make-up Saturday counts
    ("2025-12-31", "2026-01-05", 2),      # 2026-01-04 (Sunday, worked) and 01-05
    ("2017-12-31", "2018-01-02", 1),      # (a, b] needs nothing of 2017
    ("2018-01-01", "2026-12-31", 2244),   # every working day of 2018-2026 (see below)
])
def test_working_days_between(a: str, b: str, expected: int) -> None:
    assert working_days_between(date.fromisoformat(a), date.fromisoformat(b)) == expected


def test_working_days_between_a_missing_year() -> None:
    with pytest.raises(CalendarYearMissing, match="year 2017"):
        working_days_between(date(2017, 12, 30), date(2018, 1, 2))
    with pytest.raises(CalendarYearMissing, match="year 2027"):
        working_days_between(date(2027, 1, 5), date(2026, 12, 1))


# Working days per year, and the days off beyond weekends they imply: the statutory 11
# days (13 from 2025, when 除夕 and 2 May were added), plus 2 in 2020 for the extended
# Spring Festival (2020-01-31 off, the make-up Saturday 2020-02-01 cancelled).
WORKING_DAYS = {2018: (250, 11), 2019: (250, 11), 2020: (249, 13), 2021: (250, 11),
                2022: (249, 11), 2023: (249, 11), 2024: (251, 11), 2025: (248, 13),
                2026: (248, 13)}


@pytest.mark.parametrize("year", sorted(WORKING_DAYS))
def test_working_days_per_year(year: int) -> None:
    working, statutory = WORKING_DAYS[year]
    all_days = [date(year, 1, 1) + timedelta(days=i) for i in range(366)]
    all_days = [day for day in all_days if day.year == year]
    weekdays = sum(1 for day in all_days if day.weekday() < 5)
    assert sum(1 for day in all_days if is_working_day(day)) == working
    assert weekdays - working == statutory
    assert working_days_between(date(year - 1, 12, 31), date(year, 12, 31)) == working
    assert sum(working for working, _ in WORKING_DAYS.values()) == 2244


@pytest.mark.parametrize(("now", "due", "expected"), [
    ("2026-02-13T09:00", "2026-03-12", 15),
    ("2026-03-12T08:00", "2026-03-12", 0),       # due today
    ("2026-03-11T18:00", "2026-03-12", 1),
    ("2026-02-15T12:00", "2026-02-25", 2),       # paused on a holiday: 02-24 and 02-25 left
    ("2026-03-13T09:00", "2026-03-12", -1),      # overdue by Friday 03-13
    ("2026-03-14T09:00", "2026-03-12", -2),      # Saturday counts as the coming Monday
    ("2026-03-16T09:00", "2026-03-12", -2),
    ("2026-03-17T09:00", "2026-03-12", -3),
    ("2026-02-27T09:00", "2026-02-13", -5),      # 02-14, 02-24, 02-25, 02-26, 02-27
])
def test_remaining_working_days(now: str, due: str, expected: int) -> None:
    assert remaining_working_days(at(now), eod(due)) == expected


def test_remaining_working_days_uses_shanghai_dates() -> None:
    # 2026-03-11 17:00 UTC is already 2026-03-12 01:00 in Shanghai: due today.
    assert remaining_working_days(datetime(2026, 3, 11, 17, tzinfo=timezone.utc),
                                  eod("2026-03-12")) == 0
    with pytest.raises(ValueError, match="now needs a timezone"):
        remaining_working_days(datetime(2026, 3, 11, 9), eod("2026-03-12"))
    with pytest.raises(ValueError, match="deadline needs a timezone"):
        remaining_working_days(at("2026-03-11T09:00"), datetime(2026, 3, 12, 23, 59, 59))


def test_pausing_and_resuming_gives_the_same_deadline() -> None:
    received = at("2026-02-11T09:00")
    due = deadline(received, 10)
    paused = at("2026-02-13T16:00")
    left = remaining_working_days(paused, due)
    assert left == 8
    assert deadline(paused, left) == due
    resumed = at("2026-03-02T09:00")
    assert deadline(resumed, left) == eod("2026-03-12")
