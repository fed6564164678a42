"""The helpers that BPMN expressions and scripts may call (bpmn/README.md): working-day
deadlines on the engine clock. Values go in and out as ISO strings, so task data stays JSON.

While a calendar year is missing (DESIGN.md §3) the helpers never fail: they count that
year's weekends and 1 January as its only days off, and note it. The engine evaluates a
timer inside :func:`tracking_provisional` to learn whether its deadline is provisional;
once the year's data is loaded, re-evaluating the timer gives the exact deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime, time
from types import MappingProxyType
from typing import Any

import calendars
from calendars import SHANGHAI

from .clock import current_clock

_provisional: ContextVar[list[bool] | None] = ContextVar("provisional_used", default=None)


@contextmanager
def tracking_provisional() -> Iterator[list[bool]]:
    """Yields a list that is non-empty after the block if a helper used a year without data."""
    used: list[bool] = []
    token = _provisional.set(used)
    try:
        yield used
    finally:
        _provisional.reset(token)


def _note(provisional: bool) -> None:
    used = _provisional.get()
    if provisional and used is not None:
        used.append(True)


def _day(value: Any, name: str) -> date:
    """The Asia/Shanghai date of an ISO date/datetime string, date or aware datetime."""
    if isinstance(value, str):
        text = value.strip()
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name} is not an ISO 8601 date or time: {text!r}") from None
    if isinstance(value, datetime):
        if value.utcoffset() is None:
            raise ValueError(f"{name} needs a UTC offset: got {value.isoformat()}")
        return value.astimezone(SHANGHAI).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"{name} must be an ISO 8601 string or a datetime, not {type(value).__name__}")


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), SHANGHAI)


def deadline(start: str | datetime, days: int) -> str:
    """23:59:59 Asia/Shanghai of working day ``days`` after the date of ``start`` (day
    0); for ``days <= 0``, 23:59:59 of the date of ``start`` itself."""
    day = _day(start, "start")
    if _count(days, "days") <= 0:
        return _end_of_day(day).isoformat()
    result, provisional = calendars.provisional_deadline(_end_of_day(day), days)
    _note(provisional)
    return result.astimezone(SHANGHAI).isoformat()


def warning_before(due: str | datetime) -> str:
    """23:59:59 Asia/Shanghai of the working day before the date of ``due``."""
    day, provisional = calendars.provisional_add_working_days(_day(due, "due"), -1)
    _note(provisional)
    return _end_of_day(day).isoformat()


def days_left(due: str | datetime) -> int:
    """Working days from today (engine clock) to ``due``: 0 due today, < 0 overdue."""
    left, provisional = calendars.provisional_remaining_working_days(current_clock().now(),
                                                                     _end_of_day(_day(due, "due")))
    _note(provisional)
    return left


def now() -> str:
    """The engine clock's current time in Asia/Shanghai, ISO string to the second."""
    return current_clock().now().astimezone(SHANGHAI).isoformat(timespec="seconds")


def is_working_day(day: str | date) -> bool:
    """Whether the date of ``day`` is a working day."""
    when = _day(day, "day")
    try:
        return calendars.is_working_day(when)
    except calendars.CalendarYearMissing:
        _note(True)
        return when.weekday() < 5 and (when.month, when.day) != (1, 1)


def add_working_days(day: str | date, n: int) -> str:
    """``calendars.add_working_days`` on the date of ``day``, as an ISO date."""
    result, provisional = calendars.provisional_add_working_days(_day(day, "day"), _count(n, "n"))
    _note(provisional)
    return result.isoformat()


HELPERS: Mapping[str, Callable[..., Any]] = MappingProxyType({f.__name__: f for f in (
    deadline, warning_before, days_left, now, is_working_day, add_working_days)})
