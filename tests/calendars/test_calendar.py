"""The workalendar subclass, the year registry, install_year and its caches."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from workalendar.asia import China

import calendars
import calendars.registry as registry_module
from calendars import (
    SHANGHAI,
    CalendarYearMissing,
    ChinaCalendar,
    Festival,
    YearData,
    YearRegistry,
)


def eod(day: str) -> datetime:
    return datetime.fromisoformat(f"{day}T23:59:59").replace(tzinfo=SHANGHAI)


def with_extra_holiday(data: YearData, day: date, name: str = "元旦") -> YearData:
    """``data`` plus one more festival entry holding ``day`` off."""
    return replace(data, festivals=(*data.festivals, Festival(name, holidays=(day,))))


@pytest.fixture
def registry() -> YearRegistry:
    return YearRegistry()


@pytest.fixture
def restore_default() -> Iterator[None]:
    saved = {year: calendars.year_data(year) for year in calendars.covered_years()}
    yield
    for data in saved.values():
        calendars.install_year(data)


def test_calendar_is_a_workalendar_china(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    assert isinstance(calendar, China)
    assert calendar.is_working_day(date(2026, 2, 14))
    assert calendar.is_holiday(date(2026, 2, 17))
    assert not calendar.is_holiday(date(2026, 2, 14))
    assert not calendar.is_holiday(date(2026, 3, 7))   # a plain weekend is not a holiday
    assert calendar.get_holiday_label(date(2026, 2, 17)) == "春节"
    assert calendar.get_holiday_label(date(2025, 10, 6)) == "中秋节"
    assert calendar.holidays(2026)[:3] == [(date(2026, 1, 1), "元旦"), (date(2026, 1, 2), "元旦"),
                                           (date(2026, 1, 3), "元旦")]
    assert len(calendar.holidays(2026)) == 33
    assert calendar.get_working_days_delta(date(2026, 2, 13), date(2026, 3, 12)) == 15
    assert calendar.get_working_days_delta(date(2026, 3, 12), date(2026, 2, 13)) == 15


def test_workalendar_methods_use_shanghai_dates_and_extras(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    # 16:30 UTC on 2026-02-14 is 00:30 on 2026-02-15 (春节) in Shanghai.
    late = datetime(2026, 2, 14, 16, 30, tzinfo=timezone.utc)
    assert calendar.is_holiday(late)
    assert calendar.get_holiday_label(late) == "春节"
    assert calendar.get_holiday_label(date(2026, 2, 14)) is None   # make-up working day
    assert calendar.is_holiday(date(2026, 2, 13), extra_holidays=[date(2026, 2, 13)])
    with pytest.raises(ValueError, match="day needs a timezone"):
        calendar.is_holiday(datetime(2026, 2, 14, 16, 30))
    # From Friday 02-13 to 02-24: the make-up 02-14 and 02-24 itself.
    assert calendar.get_working_days_delta(date(2026, 2, 13), date(2026, 2, 24)) == 2
    assert calendar.get_working_days_delta(date(2026, 2, 13), date(2026, 2, 24),
                                           include_start=True) == 3
    assert calendar.get_working_days_delta(date(2026, 2, 15), date(2026, 2, 24),
                                           include_start=True) == 1
    assert calendar.get_working_days_delta(date(2026, 2, 13), date(2026, 2, 13),
                                           include_start=True) == 0
    assert calendar.get_working_days_delta(late, date(2026, 2, 24)) == 1
    assert calendar.get_working_days_delta(date(2026, 2, 13), date(2026, 2, 24),
                                           extra_holidays=[date(2026, 2, 14)]) == 1
    assert calendar.get_working_days_delta(date(2026, 2, 24), date(2026, 2, 13),
                                           include_start=True,
                                           extra_working_days=[date(2026, 2, 15)]) == 4


def test_holidays_without_a_year_is_this_year_in_shanghai(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    this_year = datetime.now(SHANGHAI).year
    if this_year in registry.covered_years():
        assert calendar.holidays() == calendar.holidays(this_year)
    else:
        with pytest.raises(CalendarYearMissing):
            calendar.holidays()


def test_no_warning_about_unsupported_years(registry: YearRegistry) -> None:
    filters_before = list(warnings.filters)
    calendar = ChinaCalendar(registry)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        calendar.holidays(2025)
        calendar.is_holiday(date(2026, 10, 1))
        calendar.get_working_days_delta(date(2018, 1, 1), date(2026, 12, 31))
        calendar.add_working_days(date(2026, 2, 13), 3)
        calendar.deadline(datetime(2026, 2, 13, 9, tzinfo=SHANGHAI), 3)
        with pytest.raises(CalendarYearMissing):
            calendar.holidays(2030)
    assert warnings.filters == filters_before  # nothing was silenced globally
    # workalendar's own China still warns: only our subclass avoids the lookup.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="toSolarDate", category=DeprecationWarning)
        with pytest.warns(UserWarning, match="Support years"):
            China().holidays(2020)


def test_missing_year_in_workalendar_methods(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    with pytest.raises(CalendarYearMissing) as info:
        calendar.get_calendar_holidays(2017)
    assert info.value.year == 2017
    with pytest.raises(CalendarYearMissing):
        calendar.is_holiday(date(2027, 1, 1))


def test_extra_days_override_the_data(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    holiday, friday = date(2026, 2, 16), date(2026, 2, 13)
    assert calendar.is_working_day(holiday, extra_working_days=[holiday])
    assert not calendar.is_working_day(friday, extra_holidays=[friday])
    assert calendar.is_working_day(friday, extra_working_days=[friday], extra_holidays=[friday])
    # 02-14 declared off: from Thursday 02-12, day 2 moves from 02-14 to 02-24.
    assert calendar.add_working_days(date(2026, 2, 12), 2) == date(2026, 2, 14)
    assert calendar.add_working_days(date(2026, 2, 12), 2,
                                     extra_holidays=[date(2026, 2, 14)]) == date(2026, 2, 24)
    assert calendar.add_working_days(date(2026, 2, 24), -1,
                                     extra_holidays=[date(2026, 2, 14)]) == date(2026, 2, 13)
    assert calendar.add_working_days(date(2026, 2, 15), 0,
                                     extra_working_days=[date(2026, 2, 16)]) == date(2026, 2, 16)
    assert calendar.sub_working_days(date(2026, 2, 24), 2) == date(2026, 2, 13)
    assert calendar.sub_working_days(date(2026, 2, 24), -2) == date(2026, 2, 13)
    assert calendar.sub_working_days(date(2026, 2, 24), 1,
                                     extra_working_days=[date(2026, 2, 23)]) == date(2026, 2, 23)


def test_registry_lists_and_returns_years(registry: YearRegistry) -> None:
    assert registry.covered_years() == list(range(2018, 2027))
    assert registry.year_data(2024).year == 2024
    with pytest.raises(CalendarYearMissing, match="year 2030"):
        registry.year_data(2030)
    calendar = ChinaCalendar(registry)
    assert calendar.covered_years() == registry.covered_years()
    assert calendar.year_data(2025) is registry.year_data(2025)


def test_empty_and_explicit_registries() -> None:
    empty = ChinaCalendar(YearRegistry([]))
    assert empty.covered_years() == []
    with pytest.raises(CalendarYearMissing):
        empty.is_working_day(date(2025, 1, 2))
    only_2025 = YearRegistry([calendars.year_data(2025)])
    assert only_2025.covered_years() == [2025]
    with pytest.raises(ValueError, match="year 2025 given twice"):
        YearRegistry([calendars.year_data(2025), calendars.year_data(2025)])
    with pytest.raises(TypeError, match="expected YearData, not dict"):
        YearRegistry([calendars.year_data(2025).to_dict()])  # type: ignore[list-item]


def test_tables_are_cached_per_year(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    assert registry.cached_years() == []
    calendar.deadline(datetime(2025, 12, 30, 9, tzinfo=SHANGHAI), 5)
    assert registry.cached_years() == [2025, 2026]
    table = registry.table(2026)
    calendar.deadline(datetime(2026, 2, 13, 9, tzinfo=SHANGHAI), 15)
    assert registry.table(2026) is table


def test_install_year_overrides_and_clears_that_years_cache(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    received = datetime(2026, 12, 28, 9, tzinfo=SHANGHAI)
    assert calendar.deadline(received, 3) == eod("2026-12-31")
    old_2026, old_2025 = registry.table(2026), registry.table(2025)
    assert calendar.is_working_day(date(2026, 12, 31))

    changed = with_extra_holiday(calendars.year_data(2026), date(2026, 12, 31))
    calendar.install_year(changed)

    assert registry.cached_years() == [2025]
    assert registry.table(2025) is old_2025
    assert registry.table(2026) is not old_2026
    assert calendar.year_data(2026) is changed
    assert not calendar.is_working_day(date(2026, 12, 31))
    assert calendar.holidays(2026)[-1] == (date(2026, 12, 31), "元旦")
    with pytest.raises(CalendarYearMissing, match="year 2027"):
        calendar.deadline(received, 3)
    assert calendar.provisional_deadline(received, 3) == (eod("2027-01-04"), True)


def test_install_year_adds_a_new_year(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    received = datetime(2026, 12, 28, 9, tzinfo=SHANGHAI)
    assert calendar.provisional_deadline(received, 5) == (eod("2027-01-05"), True)
    data_2027 = YearData(2027, "国务院办公厅关于2027年部分节假日安排的通知", (
        Festival("元旦", holidays=(date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 3))),
        Festival("春节", holidays=(date(2027, 2, 6),), workdays=(date(2027, 1, 30),)),
    ))
    calendar.install_year(data_2027)
    assert calendar.covered_years() == list(range(2018, 2028))
    assert calendar.deadline(received, 5) == eod("2027-01-05")
    assert calendar.provisional_deadline(received, 5) == (eod("2027-01-05"), False)
    assert calendar.is_working_day(date(2027, 1, 30))
    with pytest.raises(TypeError, match="expected YearData, not dict"):
        calendar.install_year(data_2027.to_dict())  # type: ignore[arg-type]


def test_reset_replaces_every_year_at_once(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    calendar.deadline(datetime(2025, 12, 30, 9, tzinfo=SHANGHAI), 5)
    table_2025 = registry.table(2025)
    assert registry.cached_years() == [2025, 2026]
    shipped = {data.year: data for data in calendars.load_shipped_years()}
    changed_2026 = with_extra_holiday(shipped[2026], date(2026, 12, 31))
    registry.reset([shipped[2024], shipped[2025], changed_2026])
    assert registry.covered_years() == [2024, 2025, 2026]
    assert registry.cached_years() == [2025]          # unchanged data keeps its table
    assert registry.table(2025) is table_2025
    assert not calendar.is_working_day(date(2026, 12, 31))
    with pytest.raises(CalendarYearMissing, match="year 2023"):
        calendar.is_working_day(date(2023, 6, 1))
    registry.reset(shipped.values())
    assert registry.covered_years() == list(range(2018, 2027))
    assert calendar.is_working_day(date(2026, 12, 31))
    with pytest.raises(ValueError, match="year 2024 given twice"):
        registry.reset([shipped[2024], shipped[2024]])
    with pytest.raises(TypeError, match="expected YearData, not str"):
        registry.reset(["2024"])  # type: ignore[list-item]
    assert registry.covered_years() == list(range(2018, 2027))  # a refused reset changes nothing


def test_module_level_install_year(restore_default: None) -> None:
    assert calendars.is_working_day(date(2026, 12, 31))
    calendars.install_year(with_extra_holiday(calendars.year_data(2026), date(2026, 12, 31)))
    assert not calendars.is_working_day(date(2026, 12, 31))
    # A separate calendar keeps its own registry and is not affected.
    assert ChinaCalendar().is_working_day(date(2026, 12, 31))


def test_default_calendar_is_shared() -> None:
    assert calendars.default_calendar() is calendars.default_calendar()


def test_install_year_is_thread_safe(registry: YearRegistry) -> None:
    calendar = ChinaCalendar(registry)
    plain = calendars.year_data(2026)
    changed = with_extra_holiday(plain, date(2026, 3, 3), name="春节")
    received = datetime(2026, 3, 2, 9, tzinfo=SHANGHAI)
    allowed = {eod("2026-03-03"), eod("2026-03-04")}
    errors: list[BaseException] = []
    results: set[datetime] = set()
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                results.add(calendar.deadline(received, 1))
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    for i in range(300):
        calendar.install_year(changed if i % 2 == 0 else plain)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert errors == []
    assert results <= allowed
    assert calendar.deadline(received, 1) == eod("2026-03-03")


def test_per_call_cost_has_no_table_rebuild(registry: YearRegistry,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    calendar = ChinaCalendar(registry)
    received = datetime(2025, 12, 30, 9, tzinfo=SHANGHAI)
    calendar.deadline(received, 5)
    builds: list[int] = []
    original = registry_module.build_table

    def counting_build(data: YearData) -> calendars.tables.YearTable:
        builds.append(data.year)
        return original(data)

    monkeypatch.setattr(registry_module, "build_table", counting_build)
    for n in range(1, 40):
        calendar.deadline(received + timedelta(days=n % 3), n)
        calendar.is_working_day(date(2026, 1, n % 28 + 1))
    assert builds == []
    # Control: after an install the year's table is built again, exactly once.
    calendar.install_year(registry.year_data(2026))
    for n in range(1, 10):
        calendar.deadline(received, n)
    assert builds == [2026]


def test_calendars_imports_neither_flask_nor_the_app() -> None:
    root = Path(calendars.__file__).resolve().parent.parent
    code = ("import sys, calendars; "
            "print(sorted({m.split('.')[0] for m in sys.modules}))")
    output = subprocess.run([sys.executable, "-c", code], cwd=root, check=True,
                            capture_output=True, text=True).stdout
    loaded = set(ast.literal_eval(output))
    assert loaded.isdisjoint({"flask", "app", "workflows", "flask_login", "sqlalchemy"})
    for path in Path(calendars.__file__).parent.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for forbidden in ("import flask", "from flask", "from app", "import app",
                          "from workflows", "import workflows"):
            assert forbidden not in text, (path.name, forbidden)
