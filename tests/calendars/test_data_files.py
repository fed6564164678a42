"""The shipped data files: exact content for 2024-2026, workalendar agreement for 2018-2023."""

from __future__ import annotations

import json
import warnings
from datetime import date, timedelta
from pathlib import Path

import pytest
from workalendar.asia import China

import calendars
from calendars import ChinaCalendar, YearData, load_year_file

DATA_DIR = Path(calendars.__file__).parent / "data"
YEARS = list(range(2018, 2027))


def d(text: str) -> date:
    return date.fromisoformat(text)


def days(first: str, last: str) -> list[date]:
    start, end = d(first), d(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


# The arrangements of 2024-2026 as published, written out independently of the data
# files: (label, first day off, last day off, make-up working days, expected status of
# the day before and the day after the period).
PERIODS = [
    ("2024 元旦", "2024-01-01", "2024-01-01", [], False, True),
    ("2024 春节", "2024-02-10", "2024-02-17", ["2024-02-04", "2024-02-18"], True, True),
    ("2024 清明节", "2024-04-04", "2024-04-06", ["2024-04-07"], True, True),
    ("2024 劳动节", "2024-05-01", "2024-05-05", ["2024-04-28", "2024-05-11"], True, True),
    ("2024 端午节", "2024-06-10", "2024-06-10", [], False, True),
    ("2024 中秋节", "2024-09-15", "2024-09-17", ["2024-09-14"], True, True),
    ("2024 国庆节", "2024-10-01", "2024-10-07", ["2024-09-29", "2024-10-12"], True, True),
    ("2025 元旦", "2025-01-01", "2025-01-01", [], True, True),
    ("2025 春节", "2025-01-28", "2025-02-04", ["2025-01-26", "2025-02-08"], True, True),
    ("2025 清明节", "2025-04-04", "2025-04-06", [], True, True),
    ("2025 劳动节", "2025-05-01", "2025-05-05", ["2025-04-27"], True, True),
    ("2025 端午节", "2025-05-31", "2025-06-02", [], True, True),
    ("2025 国庆节+中秋节", "2025-10-01", "2025-10-08", ["2025-09-28", "2025-10-11"], True, True),
    ("2026 元旦", "2026-01-01", "2026-01-03", ["2026-01-04"], True, True),
    ("2026 春节", "2026-02-15", "2026-02-23", ["2026-02-14", "2026-02-28"], True, True),
    ("2026 清明节", "2026-04-04", "2026-04-06", [], True, True),
    ("2026 劳动节", "2026-05-01", "2026-05-05", ["2026-05-09"], True, True),
    ("2026 端午节", "2026-06-19", "2026-06-21", [], True, True),
    ("2026 中秋节", "2026-09-25", "2026-09-27", [], True, True),
    ("2026 国庆节", "2026-10-01", "2026-10-07", ["2026-09-20", "2026-10-10"], True, True),
]
MAKEUP_DAYS = sorted({day for period in PERIODS for day in period[3]})
PERIOD_IDS = [period[0] for period in PERIODS]


@pytest.mark.parametrize(("label", "first", "last", "makeup", "before", "after"), PERIODS,
                         ids=PERIOD_IDS)
def test_period_2024_to_2026(label: str, first: str, last: str, makeup: list[str],
                             before: bool, after: bool) -> None:
    for day in days(first, last):
        assert not calendars.is_working_day(day), day
    assert calendars.is_working_day(d(first) - timedelta(days=1)) is before
    assert calendars.is_working_day(d(last) + timedelta(days=1)) is after


@pytest.mark.parametrize("day", MAKEUP_DAYS)
def test_makeup_workday_2024_to_2026(day: str) -> None:
    assert d(day).weekday() in (5, 6)
    assert calendars.is_working_day(d(day))


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_whole_year_2024_to_2026_matches_the_published_table(year: int) -> None:
    off = {day for _, first, last, *_ in PERIODS if first.startswith(str(year))
           for day in days(first, last)}
    makeup = {d(day) for day in MAKEUP_DAYS if day.startswith(str(year))}
    for day in days(f"{year}-01-01", f"{year}-12-31"):
        expected = day in makeup or (day.weekday() < 5 and day not in off)
        assert calendars.is_working_day(day) is expected, day
    data = calendars.year_data(year)
    assert set(data.holidays) == off
    assert set(data.workdays) == makeup


# Where our files knowingly differ from workalendar's China tables: the State Council
# extended the 2020 Spring Festival to 2020-02-02, so 2020-01-31 was a day off and the
# make-up working day 2020-02-01 was cancelled (workalendar keeps the original notice).
KNOWN_DIFFERENCES = {date(2020, 1, 31): False, date(2020, 2, 1): False}


@pytest.mark.parametrize("year", [2018, 2019, 2020, 2021, 2022, 2023])
def test_2018_to_2023_agree_with_workalendar(year: int) -> None:
    reference = China()
    ours = ChinaCalendar()
    differences = {}
    with warnings.catch_warnings():
        # workalendar's own China warns on every lookup, and its lunar conversion uses a
        # deprecated lunardate call; neither concerns the comparison.
        warnings.filterwarnings("ignore", message="Support years", category=UserWarning)
        warnings.filterwarnings("ignore", message="toSolarDate", category=DeprecationWarning)
        for day in days(f"{year}-01-01", f"{year}-12-31"):
            if ours.is_working_day(day) != reference.is_working_day(day):
                differences[day] = ours.is_working_day(day)
    assert differences == {k: v for k, v in KNOWN_DIFFERENCES.items() if k.year == year}


def test_2020_spring_festival_extension() -> None:
    data = calendars.year_data(2020)
    for day in days("2020-01-24", "2020-02-02"):
        assert data.holidays[day] == "春节"
        assert not calendars.is_working_day(day)
    assert date(2020, 2, 1) not in data.workdays
    assert calendars.is_working_day(date(2020, 2, 3))
    assert data.workdays == {date(2020, 1, 19): "春节", date(2020, 4, 26): "劳动节",
                             date(2020, 5, 9): "劳动节", date(2020, 6, 28): "端午节",
                             date(2020, 9, 27): "国庆节", date(2020, 10, 10): "国庆节"}
    assert data.other_notices == ("国务院办公厅关于延长2020年春节假期的通知",)


def test_new_year_days_belong_to_the_year_they_fall_in() -> None:
    data_2018 = calendars.year_data(2018)
    assert data_2018.holidays[date(2018, 12, 30)] == "元旦"
    assert data_2018.holidays[date(2018, 12, 31)] == "元旦"
    assert data_2018.workdays[date(2018, 12, 29)] == "元旦"
    assert calendars.is_working_day(date(2018, 12, 29))
    assert not calendars.is_working_day(date(2018, 12, 31))
    assert "2019" in data_2018.festivals[-1].note
    assert calendars.year_data(2022).holidays[date(2022, 12, 31)] == "元旦"
    assert calendars.year_data(2023).holidays[date(2023, 1, 2)] == "元旦"
    assert not calendars.is_working_day(date(2023, 1, 2))


@pytest.mark.parametrize(("day", "name"), [
    ("2020-10-01", "国庆节"), ("2020-10-08", "中秋节"),
    ("2023-09-29", "中秋节"), ("2023-09-30", "国庆节"), ("2023-10-06", "国庆节"),
    ("2025-10-01", "国庆节"), ("2025-10-06", "中秋节"), ("2025-10-08", "国庆节"),
])
def test_shared_national_day_and_mid_autumn_naming(day: str, name: str) -> None:
    assert calendars.year_data(d(day).year).holidays[d(day)] == name


def test_2025_shared_period_makeup_days_are_national_day() -> None:
    assert calendars.year_data(2025).workdays[d("2025-09-28")] == "国庆节"
    assert calendars.year_data(2025).workdays[d("2025-10-11")] == "国庆节"


@pytest.mark.parametrize("year", YEARS)
def test_each_file_loads_round_trips_and_names_its_notice(year: int) -> None:
    path = DATA_DIR / f"{year}.toml"
    data = load_year_file(path)
    assert data == calendars.year_data(year)
    assert data.year == year
    assert data.notice == f"国务院办公厅关于{year}年部分节假日安排的通知"
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"# Holiday arrangements of {year} in mainland China")
    assert f"# Source: {data.notice}" in text
    as_json = json.loads(json.dumps(data.to_dict(), ensure_ascii=False))
    assert YearData.from_dict(as_json, "<database>") == data
    for day in data.workdays:
        assert day.weekday() in (5, 6)
    assert {f.name for f in data.festivals} == set(calendars.FESTIVALS)


def test_covered_years_are_the_shipped_files() -> None:
    assert calendars.covered_years() == YEARS
    assert sorted(int(p.stem) for p in DATA_DIR.glob("*.toml")) == YEARS
    assert [data.year for data in calendars.load_shipped_years()] == YEARS
