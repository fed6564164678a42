"""Loading a year's holiday data without a code change (issue 3), and the hcp calendar
commands. Dates checked against the State Council notices by hand."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path

import calendars
import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import CalendarYearVersion
from app.services import calendar_years

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)
BEIJING = "+08:00"

# An invented 2027 arrangement (the real notice is not out yet), valid by every rule.
YEAR_2027 = """\
year = 2027
notice = "国务院办公厅关于2027年部分节假日安排的通知"

[[festivals]]
name = "元旦"
holidays = [2027-01-01, 2027-01-02, 2027-01-03]
workdays = []

[[festivals]]
name = "春节"
holidays = [2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11, 2027-02-12]
workdays = [2027-02-13]
"""


@pytest.fixture(autouse=True)
def shipped_calendar_only(session: Session) -> Iterator[None]:
    """Each test starts and ends with the process calendar holding the shipped files."""
    calendar_years.reset_calendar()
    yield
    calendar_years.reset_calendar()


def versions(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(CalendarYearVersion))


def test_loading_a_new_year_covers_it(session: Session) -> None:
    received = datetime.fromisoformat("2026-12-30T10:00:00" + BEIJING)
    with pytest.raises(calendars.CalendarYearMissing):
        calendars.deadline(received, 5)
    result = calendar_years.load_year(session, YEAR_2027.encode(), "/tmp/2027.toml", "admin", NOW)
    assert result.year == 2027 and result.replaced is None and result.stored is not None
    assert result.stored.source == "2027.toml" and result.stored.loaded_by == "admin"
    session.commit()
    calendar_years.sync_calendar(session)
    # 12-31 (Thu) day 1; 2027-01-01..03 off; 01-04 Mon day 2 … 01-07 Thu day 5.
    assert calendars.deadline(received, 5).isoformat() == "2027-01-07T23:59:59+08:00"
    assert not calendars.is_working_day(date(2027, 2, 8))
    assert calendars.is_working_day(date(2027, 2, 13))  # a Saturday make-up day


def test_loading_the_same_data_again_stores_nothing(session: Session) -> None:
    calendar_years.load_year(session, YEAR_2027.encode(), "2027.toml", "admin", NOW)
    again = calendar_years.load_year(session, YEAR_2027.encode(), "copy-of-2027.toml", "admin", NOW)
    assert again.stored is None and again.replaced is not None
    assert versions(session) == 1
    shipped = (Path(calendars.__file__).parent / "data" / "2026.toml").read_bytes()
    assert calendar_years.load_year(session, shipped, "2026.toml", "admin", NOW).stored is None


def test_a_loaded_year_overrides_the_shipped_file(session: Session) -> None:
    """An amended 2026 (say, one more day off on Mon 2026-06-22): the database wins."""
    shipped = (Path(calendars.__file__).parent / "data" / "2026.toml").read_text(encoding="utf-8")
    amended = shipped.replace("holidays = [2026-06-19, 2026-06-20, 2026-06-21]",
                              "holidays = [2026-06-19, 2026-06-20, 2026-06-21, 2026-06-22]")
    assert amended != shipped
    result = calendar_years.load_year(session, amended.encode(), "2026-amended.toml", "admin", NOW)
    assert result.replaced is not None and result.replaced.version is None
    assert result.changes.added_holidays == [date(2026, 6, 22)]
    assert result.changes.dates == {date(2026, 6, 22)}
    session.commit()
    assert calendars.is_working_day(date(2026, 6, 22)), "not in force before sync"
    calendar_years.sync_calendar(session)
    assert not calendars.is_working_day(date(2026, 6, 22))
    source = calendar_years.years_in_force(session)[2026]
    assert source.version is not None and "database version" in source.describe()


def test_an_invalid_file_is_refused_and_nothing_is_stored(session: Session) -> None:
    bad = YEAR_2027.replace("workdays = [2027-02-13]", "workdays = [2027-02-15]")
    with pytest.raises(calendars.CalendarDataError) as error:
        calendar_years.load_year(session, bad.encode(), "2027.toml", "admin", NOW)
    assert str(error.value).startswith("2027.toml: festivals[1].workdays[0]: 2027-02-15 is a Monday")
    assert versions(session) == 0


def test_sync_follows_the_database_and_its_rollbacks(session: Session) -> None:
    calendar_years.load_year(session, YEAR_2027.encode(), "2027.toml", "admin", NOW)
    calendar_years.sync_calendar(session)
    assert 2027 in calendars.covered_years()
    session.rollback()
    calendar_years.sync_calendar(session)
    assert 2027 not in calendars.covered_years()


@pytest.mark.parametrize(("today", "warning"), [
    (date(2026, 9, 30), None),
    (date(2026, 10, 1), "2027 年节假日数据尚未加载"),
    (date(2027, 3, 1), "2027 年节假日数据缺失"),
])
def test_missing_year_warnings(session: Session, today: date, warning: str | None) -> None:
    found = calendar_years.missing_next_year_warning(session, today)
    assert (found is None) if warning is None else found.startswith(warning)


def test_cli_load_show_deadline_check(app: Flask, session: Session, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    before = runner.invoke(args=["calendar", "check", "--today", "2026-11-29"])
    assert before.exit_code == 1 and "2027 年节假日数据尚未加载" in before.output
    path = tmp_path / "2027.toml"
    path.write_text(YEAR_2027, encoding="utf-8")
    loaded = runner.invoke(args=["calendar", "load", str(path), "--by", "zhang.admin"])
    assert loaded.exit_code == 0, loaded.output
    assert loaded.output.startswith("2027: stored as database version ")
    assert "(11 days off, 1 make-up working days), a year not covered before" in loaded.output
    shown = runner.invoke(args=["calendar", "show", "2027"])
    assert "loaded by zhang.admin" in shown.output
    assert "春节  放假 8 天: 2027-02-05（周五）至2027-02-12（周五）" in shown.output
    assert "调休上班: 2027-02-13（周六）" in shown.output
    after = runner.invoke(args=["calendar", "check", "--today", "2026-11-29"])
    assert after.exit_code == 0 and "2027: database version" in after.output
    deadline = runner.invoke(args=["calendar", "deadline", "--received", "2026-12-30T10:00:00+08:00",
                                   "--days", "5"])
    assert deadline.output.strip() == "2027-01-07T23:59:59+08:00"
    unchanged = runner.invoke(args=["calendar", "load", str(path)])
    assert unchanged.exit_code == 0 and "unchanged" in unchanged.output


@pytest.mark.parametrize(("args", "expected"), [
    (["deadline", "--received", "2026-09-30T10:00:00+08:00", "--days", "3"], "2026-10-10T23:59:59+08:00"),
    (["deadline", "--received", "2026-02-13T10:00:00+08:00", "--days", "3"], "2026-02-25T23:59:59+08:00"),
    (["deadline", "--received", "2025-12-30T10:00:00+08:00", "--days", "5"], "2026-01-07T23:59:59+08:00"),
    (["deadline", "--received", "2026-12-30T10:00:00+08:00", "--days", "5", "--provisional"],
     "2027-01-07T23:59:59+08:00  (provisional: a year without holiday data was used)"),
])
def test_cli_deadlines(app: Flask, session: Session, args: list[str], expected: str) -> None:
    result = app.test_cli_runner().invoke(args=["calendar", *args])
    assert result.exit_code == 0 and result.output.strip() == expected


@pytest.mark.parametrize(("args", "message"), [
    (["deadline", "--received", "2026-12-30T10:00:00", "--days", "5"],
     "Invalid value for '--received': '2026-12-30T10:00:00' has no UTC offset"),
    (["deadline", "--received", "yesterday", "--days", "5"], "'yesterday' is not an ISO 8601 time"),
    (["deadline", "--received", "2026-12-30T10:00:00+08:00", "--days", "0"], "0 is not in the range x>=1"),
    (["deadline", "--received", "2026-12-30T10:00:00+08:00", "--days", "5"],
     "Error: no holiday data for year 2027"),
    (["show", "2027"], "Error: no holiday data for 2027: load it with `hcp calendar load 2027.toml`"),
    (["show", "twenty"], "Invalid value for 'YEAR'"),
    (["load", "/no/such/file.toml"], "does not exist"),
])
def test_cli_bad_input(app: Flask, session: Session, args: list[str], message: str) -> None:
    result = app.test_cli_runner().invoke(args=["calendar", *args])
    assert result.exit_code == 2 and message in result.output


def test_cli_refuses_a_bad_file_in_one_line(app: Flask, session: Session, tmp_path: Path) -> None:
    path = tmp_path / "2027.toml"
    path.write_text(YEAR_2027.replace('name = "春节"', 'name = "圣诞节"'), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["calendar", "load", str(path)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"Error: {path}: festivals[1].name:")
    assert versions(session) == 0
