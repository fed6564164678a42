"""Holiday data of one year: parsing, validation and the immutable :class:`YearData`.

A year's data comes from the State Council General Office notice on the holiday
arrangements of that year (国务院办公厅关于XXXX年部分节假日安排的通知).  It is written
as TOML (see ``calendars/data/*.toml``) or held as the equivalent plain mapping, which
is what :meth:`YearData.to_dict` produces and :meth:`YearData.from_dict` accepts::

    year = 2026
    notice = "国务院办公厅关于2026年部分节假日安排的通知"
    other_notices = []                      # optional: amendments, next year's notice
    [[festivals]]
    name = "春节"
    holidays = [2026-02-15, 2026-02-16]     # TOML dates or "YYYY-MM-DD" strings
    workdays = [2026-02-14]                 # make-up working days (调休上班)
    note = "..."                            # optional

Every date lives in the data of the calendar year it falls in, under the festival it
belongs to (2018-12-30 and 2018-12-31, days off for New Year 2019, are 元旦 in 2018).
Anything wrong is refused with :class:`CalendarDataError` naming the source, the key
and the reason; the checks run again whenever a :class:`YearData` is constructed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from os import PathLike
from pathlib import Path, PurePath
from types import MappingProxyType
from typing import Any

from .errors import CalendarDataError

FESTIVALS: tuple[str, ...] = ("元旦", "春节", "清明节", "劳动节", "端午节", "中秋节", "国庆节")
MIN_YEAR = 2000
MAX_YEAR = 2099
# A year's notice fits in a few kilobytes; anything far larger is not one (and is not parsed).
MAX_FILE_BYTES = 256 * 1024

_TOP_KEYS = ("year", "notice", "other_notices", "festivals")
_TOP_REQUIRED = ("year", "notice", "festivals")
_FESTIVAL_KEYS = ("name", "holidays", "workdays", "note")
_FESTIVAL_REQUIRED = ("name", "holidays", "workdays")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_FILE_NAME = re.compile(r"(\d{4})\.toml")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Festival:
    """One festival's entry in a year: its days off and its make-up working days."""

    name: str
    holidays: tuple[date, ...] = ()
    workdays: tuple[date, ...] = ()
    note: str = ""


@dataclass(frozen=True)
class YearData:
    """The validated holiday arrangements of one year.

    ``holidays`` and ``workdays`` are derived read-only mappings from each date to the
    name of its festival; equality and hashing use the declared fields only.
    """

    year: int
    notice: str
    festivals: tuple[Festival, ...]
    other_notices: tuple[str, ...] = ()
    holidays: Mapping[date, str] = field(init=False, repr=False, compare=False)
    workdays: Mapping[date, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        holidays, workdays = _check_constructed(self)
        object.__setattr__(self, "holidays", MappingProxyType(holidays))
        object.__setattr__(self, "workdays", MappingProxyType(workdays))

    def __reduce__(self) -> tuple[type[YearData], tuple[Any, ...]]:
        # Pickle and deepcopy rebuild through the constructor (and its checks); the
        # read-only mappings themselves cannot be pickled.
        return (YearData, (self.year, self.notice, self.festivals, self.other_notices))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON- and TOML-compatible mapping; :meth:`from_dict` reads it back."""
        out: dict[str, Any] = {"year": self.year, "notice": self.notice}
        if self.other_notices:
            out["other_notices"] = list(self.other_notices)
        festivals = []
        for fest in self.festivals:
            entry: dict[str, Any] = {
                "name": fest.name,
                "holidays": [d.isoformat() for d in fest.holidays],
                "workdays": [d.isoformat() for d in fest.workdays],
            }
            if fest.note:
                entry["note"] = fest.note
            festivals.append(entry)
        out["festivals"] = festivals
        return out

    @classmethod
    def from_dict(cls, document: Any, source: str = "<mapping>") -> YearData:
        """Validate a mapping shaped like a data file and build a :class:`YearData`.

        When the final component of ``source`` is a file name ``YYYY.toml``, the
        ``year`` inside must be that year.
        """
        return _from_document(document, source)


def parse_year_data(content: str | bytes, source: str) -> YearData:
    """Parse TOML text (or UTF-8 bytes) of one year; ``source`` names it in errors."""
    if isinstance(content, (bytes, bytearray)):
        try:
            content = bytes(content).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CalendarDataError(
                source, None, f"not valid UTF-8 ({exc.reason} at byte {exc.start})"
            ) from None
    elif not isinstance(content, str):
        raise TypeError(f"content must be str or bytes, not {type(content).__name__}")
    if len(content) > MAX_FILE_BYTES:
        raise CalendarDataError(source, None, f"too large ({len(content)} characters; at most {MAX_FILE_BYTES})")
    try:
        document = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarDataError(source, None, f"not valid TOML: {exc}") from None
    except RecursionError:  # arrays or inline tables nested thousands deep
        raise CalendarDataError(source, None, "not valid TOML: nested too deeply") from None
    return _from_document(document, source)


def load_year_file(path: str | PathLike[str]) -> YearData:
    """Read and parse one data file; a file named ``YYYY.toml`` must hold that year."""
    source = str(path)
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise CalendarDataError(source, None, f"cannot be read ({exc.strerror})") from None
    return parse_year_data(content, source)


def _type_name(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, datetime):
        return "date-time"
    for kind, name in ((str, "string"), (int, "integer"), (float, "float"), (date, "date"),
                       (time, "time"), (list, "array"), (tuple, "array"), (Mapping, "table")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


def _check_keys(table: Mapping[Any, Any], allowed: tuple[str, ...],
                required: tuple[str, ...], prefix: str, source: str) -> None:
    for key in table:
        if key not in allowed:
            raise CalendarDataError(source, f"{prefix}{key}",
                                    f"unknown key (allowed: {', '.join(allowed)})")
    for key in required:
        if key not in table:
            raise CalendarDataError(source, f"{prefix}{key}", "missing required key")


def _expect(value: Any, kind: str, key: str, source: str, *, empty_ok: bool = False) -> Any:
    actual = _type_name(value)
    if actual != kind:
        raise CalendarDataError(source, key, f"expected {kind}, got {actual}")
    if kind == "string" and not empty_ok and not value.strip():
        raise CalendarDataError(source, key, "must not be empty")
    return value


def _parse_date(value: Any, key: str, source: str) -> date:
    if isinstance(value, str):
        if _ISO_DATE.fullmatch(value):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise CalendarDataError(source, key, f"'{value}' is not a valid date (expected YYYY-MM-DD)")
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise CalendarDataError(source, key, f"expected a date, got {_type_name(value)}")


def _parse_dates(value: Any, key: str, source: str) -> tuple[date, ...]:
    _expect(value, "array", key, source)
    return tuple(_parse_date(item, f"{key}[{i}]", source) for i, item in enumerate(value))


def _from_document(document: Any, source: str) -> YearData:
    if _type_name(document) != "table":
        raise CalendarDataError(source, None, f"expected a table at the top level, "
                                              f"got {_type_name(document)}")
    _check_keys(document, _TOP_KEYS, _TOP_REQUIRED, "", source)
    year = _expect(document["year"], "integer", "year", source)
    _check_year_number(year, source)
    match = _FILE_NAME.fullmatch(PurePath(source).name)
    if match and int(match.group(1)) != year:
        raise CalendarDataError(source, "year", f"{year} does not match the file name "
                                                f"{PurePath(source).name}")
    notice = _expect(document["notice"], "string", "notice", source)
    others = _expect(document.get("other_notices", []), "array", "other_notices", source)
    other_notices = tuple(_expect(item, "string", f"other_notices[{i}]", source)
                          for i, item in enumerate(others))
    raw_festivals = _expect(document["festivals"], "array", "festivals", source)
    festivals = []
    for i, raw in enumerate(raw_festivals):
        key = f"festivals[{i}]"
        _expect(raw, "table", key, source)
        _check_keys(raw, _FESTIVAL_KEYS, _FESTIVAL_REQUIRED, f"{key}.", source)
        festivals.append(Festival(
            name=_expect(raw["name"], "string", f"{key}.name", source),
            holidays=_parse_dates(raw["holidays"], f"{key}.holidays", source),
            workdays=_parse_dates(raw["workdays"], f"{key}.workdays", source),
            note=_expect(raw.get("note", ""), "string", f"{key}.note", source, empty_ok=True),
        ))
    try:
        return YearData(year=year, notice=notice, festivals=tuple(festivals),
                        other_notices=other_notices)
    except CalendarDataError as exc:
        raise CalendarDataError(source, exc.key, exc.reason) from None


def _check_year_number(year: int, source: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise CalendarDataError(source, "year",
                                f"{year} is out of range {MIN_YEAR}..{MAX_YEAR}")


def _check_constructed(data: YearData) -> tuple[dict[date, str], dict[date, str]]:
    """Check a :class:`YearData` being built; returns its holiday and workday maps."""
    source = "YearData"
    if _type_name(data.year) != "integer":
        raise CalendarDataError(source, "year", f"expected integer, got {_type_name(data.year)}")
    _check_year_number(data.year, source)
    _expect(data.notice, "string", "notice", source)
    if not isinstance(data.other_notices, tuple):
        raise CalendarDataError(source, "other_notices", "expected a tuple")
    for i, item in enumerate(data.other_notices):
        _expect(item, "string", f"other_notices[{i}]", source)
    if not isinstance(data.festivals, tuple):
        raise CalendarDataError(source, "festivals", "expected a tuple")
    if not data.festivals:
        raise CalendarDataError(source, "festivals", "must list at least one festival")
    holidays: dict[date, str] = {}
    workdays: dict[date, str] = {}
    seen: dict[date, str] = {}
    for i, fest in enumerate(data.festivals):
        key = f"festivals[{i}]"
        if not isinstance(fest, Festival):
            raise CalendarDataError(source, key, f"expected a Festival, got {_type_name(fest)}")
        _expect(fest.name, "string", f"{key}.name", source)
        if fest.name not in FESTIVALS:
            raise CalendarDataError(source, f"{key}.name", f"'{fest.name}' is not one of the "
                                                           f"festivals {', '.join(FESTIVALS)}")
        _expect(fest.note, "string", f"{key}.note", source, empty_ok=True)
        if not fest.holidays and not fest.workdays:
            raise CalendarDataError(source, key, "lists neither holidays nor make-up workdays")
        for kind, days, target in (("holidays", fest.holidays, holidays),
                                   ("workdays", fest.workdays, workdays)):
            if not isinstance(days, tuple):
                raise CalendarDataError(source, f"{key}.{kind}", "expected a tuple")
            for j, day in enumerate(days):
                where = f"{key}.{kind}[{j}]"
                if isinstance(day, datetime) or not isinstance(day, date):
                    raise CalendarDataError(source, where,
                                            f"expected a date, got {_type_name(day)}")
                if day.year != data.year:
                    raise CalendarDataError(source, where, f"{day} is not in year {data.year}")
                if day in seen:
                    raise CalendarDataError(source, where,
                                            f"{day} is listed twice (also at {seen[day]})")
                if kind == "workdays" and day.weekday() < 5:
                    raise CalendarDataError(
                        source, where, f"{day} is a {_WEEKDAYS[day.weekday()]}; a make-up "
                                       f"workday must be a Saturday or Sunday")
                seen[day] = where
                target[day] = fest.name
    return holidays, workdays
