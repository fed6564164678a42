"""China's working-day calendar, with holidays from the State Council notices.

:class:`ChinaCalendar` is a :class:`workalendar.asia.China` whose holidays and make-up
working days come from a :class:`~calendars.registry.YearRegistry`, never from
workalendar's built-in tables (so workalendar's warning about unsupported years is
never raised).  A year without data raises :class:`CalendarYearMissing`.

Rules, for every method defined or overridden here (workalendar's ``is_holiday``,
``get_holiday_label``, ``get_working_days_delta``, ``add_working_days``,
``sub_working_days`` and ``is_working_day`` included): a ``date`` is used as it is; a
timezone-aware ``datetime`` stands for its date in Asia/Shanghai; a naive ``datetime`` is
refused with ``ValueError``.  Results are dates (workalendar's ``keep_datetime`` option is
not offered).

* ``deadline(r, n)``: the date of ``r`` in Asia/Shanghai is day 0, day 1 is the first
  working day after it (whatever kind of day day 0 is); the result is 23:59:59
  Asia/Shanghai on working day ``n``.
* ``add_working_days(d, n)``: ``n > 0`` gives the ``n``-th working day after ``d``,
  ``n < 0`` the ``|n|``-th working day before ``d`` (``d`` itself never counts), and
  ``n == 0`` gives ``d`` when it is a working day, otherwise the first working day
  after it.  The result is always a working day.
* ``working_days_between(a, b)``: the number of working days in ``(a, b]`` when
  ``a <= b``, and ``-working_days_between(b, a)`` when ``b < a``.  Hence
  ``working_days_between(D0, deadline(r, n).date()) == n``.
* ``remaining_working_days(now, dl)``: with ``T`` and ``D`` the dates of ``now`` and
  ``dl`` in Asia/Shanghai (times of day are ignored): when ``D >= T``, the working days
  in ``(T, D]`` (so 0 when the deadline is today); when ``D < T`` (overdue), minus the
  working days in ``(D, T']``, where ``T'`` is ``T`` if that is a working day and the
  next working day otherwise (so always ``<= -1``).  Whenever ``D`` is a working day,
  ``add_working_days(T, remaining) == D``: a clock paused at ``now`` with ``m >= 1``
  days left and resumed at ``t`` ends at ``deadline(t, m)``.
* ``provisional_deadline(r, n)``: ``deadline`` where each year without data counts only
  weekends and 1 January as days off; the flag says whether such a year was consulted.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from workalendar.asia import China

from . import tables
from .clock import SHANGHAI, as_date, check_count, end_of_day, shanghai_date
from .data import YearData
from .registry import ProvisionalLookup, YearRegistry


class ChinaCalendar(China):  # type: ignore[misc]  # workalendar is untyped
    """China's official working days; ``ChinaCalendar()`` uses the shipped data."""

    def __init__(self, registry: YearRegistry | None = None) -> None:
        super().__init__()
        self.registry = registry if registry is not None else YearRegistry()
        # workalendar's China fills this from its own tables; ours come from the registry.
        self.extra_working_days: list[date] = []

    # -- year data -------------------------------------------------------------------
    def covered_years(self) -> list[int]:
        """Years with holiday data, ascending."""
        return self.registry.covered_years()

    def year_data(self, year: int) -> YearData:
        """The holiday data of ``year``; :class:`CalendarYearMissing` if absent."""
        return self.registry.year_data(year)

    def install_year(self, data: YearData) -> None:
        """Add or replace a year's data (thread-safe; the year's cache is dropped)."""
        self.registry.install_year(data)

    # -- workalendar interface -------------------------------------------------------
    def get_calendar_holidays(self, year: int) -> list[tuple[date, str]]:
        return list(self.registry.table(year).holidays)

    def holidays(self, year: int | None = None) -> list[tuple[date, str]]:
        """Listed days off of ``year`` (default: this year in Asia/Shanghai), sorted."""
        if not year:
            year = datetime.now(SHANGHAI).year
        return self.get_calendar_holidays(year)

    def is_holiday(self, day: date, extra_holidays: Iterable[date] | None = None) -> bool:
        """Whether ``day`` is a listed day off (a plain weekend is not a holiday)."""
        day = as_date(day, "day")
        if extra_holidays and day in {as_date(d, "extra_holidays") for d in extra_holidays}:
            return True
        return day in self.registry.year_data(day.year).holidays

    def get_holiday_label(self, day: date) -> str | None:
        """The festival of a listed day off, else None."""
        day = as_date(day, "day")
        return self.registry.year_data(day.year).holidays.get(day)

    def get_working_days_delta(self, start: date, end: date, include_start: bool = False,
                               extra_working_days: Iterable[date] | None = None,
                               extra_holidays: Iterable[date] | None = None) -> int:
        """workalendar's unsigned count: working days in ``(min, max]``, plus the earlier
        day when ``include_start`` and it is worked (0 when the days are equal)."""
        low, high = sorted((as_date(start, "start"), as_date(end, "end")))
        if extra_working_days or extra_holidays:
            return int(super().get_working_days_delta(low, high, include_start,
                                                      extra_working_days, extra_holidays))
        if low == high:
            return 0
        lookup = self.registry.snapshot().table
        count = tables.between(lookup, low, high)
        return count + 1 if include_start and tables.is_working(lookup, low) else count

    def is_working_day(self, day: date, extra_working_days: Iterable[date] | None = None,
                       extra_holidays: Iterable[date] | None = None) -> bool:
        """Whether ``day`` is a working day; the extra lists override the data
        (``extra_working_days`` first, as in workalendar)."""
        day = as_date(day, "day")
        if extra_working_days and day in {as_date(d, "extra_working_days")
                                          for d in extra_working_days}:
            return True
        if extra_holidays and day in {as_date(d, "extra_holidays") for d in extra_holidays}:
            return False
        return tables.is_working(self.registry.snapshot().table, day)

    def add_working_days(self, day: date, delta: int,
                         extra_working_days: Iterable[date] | None = None,
                         extra_holidays: Iterable[date] | None = None) -> date:
        """``delta`` working days from ``day`` (rules in the module docstring)."""
        day = as_date(day, "day")
        check_count(delta, "delta", None)
        if not extra_working_days and not extra_holidays:
            return tables.add(self.registry.snapshot().table, day, delta)
        extras = (tuple(extra_working_days or ()), tuple(extra_holidays or ()))
        step = date.resolution if delta >= 0 else -date.resolution
        if delta == 0:
            while not self.is_working_day(day, *extras):
                day += step
            return day
        remaining = abs(delta)
        while remaining:
            day += step
            if self.is_working_day(day, *extras):
                remaining -= 1
        return day

    def sub_working_days(self, day: date, delta: int,
                         extra_working_days: Iterable[date] | None = None,
                         extra_holidays: Iterable[date] | None = None) -> date:
        """``abs(delta)`` working days before ``day``."""
        check_count(delta, "delta", None)
        return self.add_working_days(day, -abs(delta), extra_working_days, extra_holidays)

    # -- deadlines -------------------------------------------------------------------
    def deadline(self, received_at: datetime, working_days: int) -> datetime:
        """23:59:59 Asia/Shanghai on the ``working_days``-th working day after receipt."""
        check_count(working_days, "working_days", 1)
        day = shanghai_date(received_at, "received_at")
        return end_of_day(tables.nth_after(self.registry.snapshot().table, day, working_days))

    def provisional_deadline(self, received_at: datetime,
                             working_days: int) -> tuple[datetime, bool]:
        """Like :meth:`deadline`, but a year without data counts only weekends and
        1 January as days off.  The flag is True when such a year was consulted."""
        check_count(working_days, "working_days", 1)
        day = shanghai_date(received_at, "received_at")
        lookup = ProvisionalLookup(self.registry.snapshot())
        result = tables.nth_after(lookup, day, working_days)
        return end_of_day(result), lookup.used

    def working_days_between(self, a: date, b: date) -> int:
        """Working days in ``(a, b]``; negative (antisymmetric) when ``b < a``."""
        return tables.between(self.registry.snapshot().table, as_date(a, "a"), as_date(b, "b"))

    def remaining_working_days(self, now: datetime, deadline: datetime) -> int:
        """Working days left until ``deadline``: 0 when it is today, negative when
        overdue (exact rule in the module docstring)."""
        return _remaining(self.registry.snapshot().table, now, deadline)

    # -- provisional variants: a year without data counts only weekends and 1 January ---
    def provisional_add_working_days(self, day: date, delta: int) -> tuple[date, bool]:
        """:meth:`add_working_days`; the flag is True when a year without data was used."""
        day = as_date(day, "day")
        check_count(delta, "delta", None)
        lookup = ProvisionalLookup(self.registry.snapshot())
        return tables.add(lookup, day, delta), lookup.used

    def provisional_remaining_working_days(self, now: datetime, deadline: datetime) -> tuple[int, bool]:
        """:meth:`remaining_working_days`; the flag is True when a year without data was used."""
        lookup = ProvisionalLookup(self.registry.snapshot())
        return _remaining(lookup, now, deadline), lookup.used


def _remaining(lookup: tables.Lookup, now: datetime, deadline: datetime) -> int:
    today = shanghai_date(now, "now")
    due = shanghai_date(deadline, "deadline")
    if due >= today:
        return tables.between(lookup, today, due)
    return -tables.between(lookup, due, tables.on_or_after(lookup, today))
