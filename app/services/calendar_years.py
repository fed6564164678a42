"""Holiday data of the working-day calendar: the shipped files, plus years that
administrators load into the database (DESIGN.md §3: a new year needs no code change).

The process-wide calendar of :mod:`calendars` is brought in step with the database by
:func:`sync_calendar`, which every piece of code that computes deadlines calls first; it
costs one indexed query when nothing changed.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import PurePath

import calendars
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import CalendarYearVersion

SHIPPED = "shipped file"


@functools.cache
def shipped_years() -> dict[int, calendars.YearData]:
    return {data.year: data for data in calendars.load_shipped_years()}


@dataclass(frozen=True)
class YearSource:
    """Where a year's data in force comes from."""

    year: int
    data: calendars.YearData
    version: CalendarYearVersion | None  # None: the file shipped in calendars/data

    def describe(self) -> str:
        if self.version is None:
            return f"{SHIPPED} calendars/data/{self.year}.toml"
        v = self.version
        return (f"database version {v.id} ({v.source}), loaded by {v.loaded_by} "
                f"at {v.loaded_at.astimezone(calendars.SHANGHAI):%Y-%m-%d %H:%M}")


@dataclass(frozen=True)
class YearChanges:
    added_holidays: list[date] = field(default_factory=list)
    removed_holidays: list[date] = field(default_factory=list)
    added_workdays: list[date] = field(default_factory=list)
    removed_workdays: list[date] = field(default_factory=list)

    @classmethod
    def between(cls, old: calendars.YearData | None, new: calendars.YearData) -> YearChanges:
        old_h = set(old.holidays) if old else set()
        old_w = set(old.workdays) if old else set()
        return cls(sorted(set(new.holidays) - old_h), sorted(old_h - set(new.holidays)),
                   sorted(set(new.workdays) - old_w), sorted(old_w - set(new.workdays)))

    @property
    def dates(self) -> set[date]:
        """Every date whose working-day status changed."""
        return {*self.added_holidays, *self.removed_holidays, *self.added_workdays, *self.removed_workdays}


@dataclass(frozen=True)
class LoadResult:
    year: int
    stored: CalendarYearVersion | None  # None when the data equals what is in force
    replaced: YearSource | None  # what was in force before; None when the year was missing
    changes: YearChanges


def newest_versions(session: Session) -> dict[int, CalendarYearVersion]:
    newest = (select(CalendarYearVersion.year, func.max(CalendarYearVersion.id).label("id"))
              .group_by(CalendarYearVersion.year).subquery())
    rows = session.scalars(select(CalendarYearVersion).join(newest, CalendarYearVersion.id == newest.c.id))
    return {row.year: row for row in rows}


def _from_version(version: CalendarYearVersion) -> calendars.YearData:
    return calendars.YearData.from_dict(version.data, f"database version {version.id}")


class CalendarHistory:
    """The calendar data as it was at any moment: the shipped years overridden by the newest
    database version of each year loaded by then. For re-running a case as it happened."""

    def __init__(self, session: Session) -> None:
        self._versions = list(session.scalars(select(CalendarYearVersion).order_by(CalendarYearVersion.id)))
        self._shipped = shipped_years()
        self._built: dict[tuple[int, ...], calendars.ChinaCalendar] = {}

    def key_at(self, moment: datetime) -> tuple[int, ...]:
        """The ids of the versions in force at ``moment`` (the newest of each year)."""
        newest: dict[int, int] = {}
        for version in self._versions:
            if version.loaded_at <= moment:
                newest[version.year] = version.id
        return tuple(sorted(newest.values()))

    def calendar_at(self, moment: datetime) -> calendars.ChinaCalendar:
        key = self.key_at(moment)
        calendar = self._built.get(key)
        if calendar is None:
            years = dict(self._shipped)
            for version in self._versions:
                if version.id in key:
                    years[version.year] = _from_version(version)
            calendar = self._built[key] = calendars.ChinaCalendar(calendars.YearRegistry(years.values()))
        return calendar


def years_in_force(session: Session) -> dict[int, YearSource]:
    result = {year: YearSource(year, data, None) for year, data in shipped_years().items()}
    for year, version in newest_versions(session).items():
        result[year] = YearSource(year, _from_version(version), version)
    return dict(sorted(result.items()))


def load_year(session: Session, content: bytes, source: str, loaded_by: str, now: datetime) -> LoadResult:
    """Validate a year's data file and store it as that year's newest version.

    Raises :class:`calendars.CalendarDataError` (naming the file, key and reason) and
    stores nothing when the file is invalid. The caller commits, then calls
    :func:`sync_calendar` so the process computes with the new data.
    """
    data = calendars.parse_year_data(content, source)
    version = session.scalar(select(CalendarYearVersion).where(CalendarYearVersion.year == data.year)
                             .order_by(CalendarYearVersion.id.desc()).limit(1))
    current: YearSource | None
    if version is not None:
        current = YearSource(data.year, _from_version(version), version)
    elif data.year in shipped_years():
        current = YearSource(data.year, shipped_years()[data.year], None)
    else:
        current = None
    changes = YearChanges.between(current.data if current else None, data)
    if current is not None and current.data == data:
        return LoadResult(data.year, None, current, changes)
    stored = CalendarYearVersion(year=data.year, data=data.to_dict(), source=PurePath(source).name[:255],
                                 sha256=hashlib.sha256(content).hexdigest(), loaded_by=loaded_by[:64],
                                 loaded_at=now)
    session.add(stored)
    session.flush()
    return LoadResult(data.year, stored, current, changes)


_sync_lock = threading.Lock()
# (id, sha256) of the newest version the process calendar holds; ids alone can repeat
# on SQLite after a rolled-back insert.
_installed_version: tuple[int, str] | None = None


def sync_calendar(session: Session) -> None:
    """Make the process calendar hold the shipped years overridden by the newest database
    version of each year. One query when nothing changed since the last call."""
    global _installed_version
    row = session.execute(select(CalendarYearVersion.id, CalendarYearVersion.sha256)
                          .order_by(CalendarYearVersion.id.desc()).limit(1)).first()
    newest = None if row is None else (row.id, row.sha256)
    if newest == _installed_version:
        return
    with _sync_lock:
        sources = years_in_force(session)
        calendars.default_calendar().registry.reset(source.data for source in sources.values())
        _installed_version = newest


def reset_calendar() -> None:
    """Back to the shipped files only; the next :func:`sync_calendar` reloads the database."""
    global _installed_version
    with _sync_lock:
        calendars.default_calendar().registry.reset(shipped_years().values())
        _installed_version = None


def missing_next_year_warning(session: Session, today: date) -> str | None:
    """From 1 October on, the next year's notice should be loaded (DESIGN.md §3)."""
    covered = years_in_force(session)
    if today.year not in covered:
        return f"{today.year} 年节假日数据缺失：截止日期按临时规则（仅周末和元旦）计算，请立即加载 {today.year} 年数据"
    if today >= date(today.year, 10, 1) and today.year + 1 not in covered:
        return (f"{today.year + 1} 年节假日数据尚未加载：国务院办公厅通知发布后请用 "
                f"`hcp calendar load {today.year + 1}.toml` 加载")
    return None
