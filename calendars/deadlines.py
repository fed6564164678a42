"""Module-level calendar functions, all on one process-wide default calendar.

The default calendar starts with the shipped data files; the application installs
the years stored in its database with :func:`install_year`.  For an independent
calendar (its own registry and caches) create a :class:`~calendars.ChinaCalendar`,
whose methods of the same names follow the same rules (see :mod:`calendars.calendar`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime

from .calendar import ChinaCalendar
from .data import YearData

_lock = threading.Lock()
_default: ChinaCalendar | None = None
_in_context: ContextVar[ChinaCalendar | None] = ContextVar("calendar_in_context", default=None)


@contextmanager
def calendar_in_context(calendar: ChinaCalendar) -> Iterator[ChinaCalendar]:
    """Use ``calendar`` behind the module-level functions inside the block, in this thread
    (context) only: e.g. to recompute a case with the calendar data of an earlier day
    while other threads go on with today's."""
    token = _in_context.set(calendar)
    try:
        yield calendar
    finally:
        _in_context.reset(token)


def default_calendar() -> ChinaCalendar:
    """The calendar behind the module-level functions: the one set by
    :func:`calendar_in_context`, else the process-wide one (built on first use)."""
    calendar = _in_context.get()
    if calendar is not None:
        return calendar
    global _default
    calendar = _default
    if calendar is None:
        with _lock:
            if _default is None:
                _default = ChinaCalendar()
            calendar = _default
    return calendar


def is_working_day(d: date) -> bool:
    """Whether ``d`` (a date, or an aware datetime's date in Asia/Shanghai) is worked."""
    return default_calendar().is_working_day(d)


def deadline(received_at: datetime, working_days: int) -> datetime:
    """23:59:59 Asia/Shanghai on working day ``working_days``, day 0 being the date of
    receipt in Asia/Shanghai and day 1 the first working day after it."""
    return default_calendar().deadline(received_at, working_days)


def provisional_deadline(received_at: datetime, working_days: int) -> tuple[datetime, bool]:
    """:func:`deadline`, treating only weekends and 1 January as days off in years
    without data; the flag is True when such a year was consulted."""
    return default_calendar().provisional_deadline(received_at, working_days)


def add_working_days(d: date, n: int) -> date:
    """The ``n``-th working day after (``n > 0``) or before (``n < 0``) ``d``; for
    ``n == 0``, ``d`` if it is a working day, else the next one."""
    return default_calendar().add_working_days(d, n)


def working_days_between(a: date, b: date) -> int:
    """Working days in ``(a, b]``; ``-working_days_between(b, a)`` when ``b < a``."""
    return default_calendar().working_days_between(a, b)


def remaining_working_days(now: datetime, deadline: datetime) -> int:
    """Working days left from the date of ``now`` to the date of ``deadline``: 0 when due
    today, negative when overdue."""
    return default_calendar().remaining_working_days(now, deadline)


def provisional_add_working_days(d: date, n: int) -> tuple[date, bool]:
    """:func:`add_working_days`, treating only weekends and 1 January as days off in years
    without data; the flag is True when such a year was consulted."""
    return default_calendar().provisional_add_working_days(d, n)


def provisional_remaining_working_days(now: datetime, deadline: datetime) -> tuple[int, bool]:
    """:func:`remaining_working_days`, likewise provisional for years without data."""
    return default_calendar().provisional_remaining_working_days(now, deadline)


def covered_years() -> list[int]:
    """Years with holiday data in the default calendar, ascending."""
    return default_calendar().covered_years()


def year_data(year: int) -> YearData:
    """The default calendar's data for ``year``; ``CalendarYearMissing`` if absent."""
    return default_calendar().year_data(year)


def install_year(data: YearData) -> None:
    """Add or replace a year in the default calendar (thread-safe, clears its cache)."""
    default_calendar().install_year(data)
