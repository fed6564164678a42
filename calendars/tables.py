"""Per-year working-day tables and the counting algorithms built on them.

A :class:`YearTable` is built once per year and cached by the registry; every
computation afterwards is index arithmetic on it, never a rebuild of holiday lists.
The algorithms take a *lookup*, a callable ``year -> YearTable`` that raises
:class:`~calendars.errors.CalendarYearMissing` (or supplies a provisional table) for a
year without data.  A year's table is consulted only when the computation needs one
of that year's days.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from .data import YearData

Lookup = Callable[[int], "YearTable"]


@dataclass(frozen=True, slots=True)
class YearTable:
    """Working days of one year, indexed by ``date.toordinal() - first``."""

    year: int
    first: int                             # ordinal of 1 January
    last: int                              # ordinal of 31 December
    flags: bytes                           # 1 for a working day, 0 for a day off
    cum: tuple[int, ...]                   # cum[i]: working days among the first i days
    ordinals: tuple[int, ...]              # ordinals of the working days, ascending
    holidays: tuple[tuple[date, str], ...]  # listed days off with their festival, sorted
    provisional: bool


def _build(year: int, holidays: Mapping[date, str], workdays: Collection[date],
           provisional: bool) -> YearTable:
    first = date(year, 1, 1).toordinal()
    last = date(year, 12, 31).toordinal()
    flags = bytearray()
    cum = [0]
    ordinals = []
    for ordinal in range(first, last + 1):
        day = date.fromordinal(ordinal)
        is_working = day in workdays or (day.weekday() < 5 and day not in holidays)
        flags.append(1 if is_working else 0)
        cum.append(cum[-1] + flags[-1])
        if is_working:
            ordinals.append(ordinal)
    return YearTable(year=year, first=first, last=last, flags=bytes(flags), cum=tuple(cum),
                     ordinals=tuple(ordinals), holidays=tuple(sorted(holidays.items())),
                     provisional=provisional)


def build_table(data: YearData) -> YearTable:
    """The table of a year with data: its holidays off, its make-up days worked."""
    return _build(data.year, data.holidays, data.workdays, provisional=False)


@lru_cache(maxsize=64)
def provisional_table(year: int) -> YearTable:
    """Stand-in for a year without data: weekends and 1 January are the only days off."""
    return _build(year, {date(year, 1, 1): "元旦"}, (), provisional=True)


def is_working(lookup: Lookup, day: date) -> bool:
    table = lookup(day.year)
    return table.flags[day.toordinal() - table.first] == 1


def nth_after(lookup: Lookup, day: date, n: int) -> date:
    """The ``n``-th working day after ``day`` (``n >= 1``); ``day`` itself never counts."""
    if day.month == 12 and day.day == 31:
        table = lookup(day.year + 1)
        index = n - 1
    else:
        table = lookup(day.year)
        index = table.cum[day.toordinal() - table.first + 1] + n - 1
    while index >= len(table.ordinals):
        index -= len(table.ordinals)
        table = lookup(table.year + 1)
    return date.fromordinal(table.ordinals[index])


def nth_before(lookup: Lookup, day: date, n: int) -> date:
    """The ``n``-th working day before ``day`` (``n >= 1``); ``day`` itself never counts."""
    if day.month == 1 and day.day == 1:
        table = lookup(day.year - 1)
        index = len(table.ordinals) - n
    else:
        table = lookup(day.year)
        index = table.cum[day.toordinal() - table.first] - n
    while index < 0:
        table = lookup(table.year - 1)
        index += len(table.ordinals)
    return date.fromordinal(table.ordinals[index])


def on_or_after(lookup: Lookup, day: date) -> date:
    """``day`` when it is a working day, otherwise the first working day after it."""
    return day if is_working(lookup, day) else nth_after(lookup, day, 1)


def add(lookup: Lookup, day: date, n: int) -> date:
    """``n`` working days from ``day``: after it, before it, or (0) on or after it."""
    if n > 0:
        return nth_after(lookup, day, n)
    if n < 0:
        return nth_before(lookup, day, -n)
    return on_or_after(lookup, day)


def between(lookup: Lookup, a: date, b: date) -> int:
    """Working days in ``(a, b]``; ``-between(b, a)`` when ``b < a``."""
    if b < a:
        return -between(lookup, b, a)
    if a == b:
        return 0
    start_year = a.year + 1 if (a.month == 12 and a.day == 31) else a.year
    total = 0
    for year in range(start_year, b.year + 1):
        table = lookup(year)
        low = a.toordinal() if year == a.year else table.first - 1
        high = b.toordinal() if year == b.year else table.last
        total += table.cum[high - table.first + 1] - table.cum[low - table.first + 1]
    return total

