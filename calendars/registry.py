"""The registry of year data: the shipped files by default, overridable year by year.

The registry keeps an immutable *snapshot* (the year data plus a lazily filled cache
of :class:`~calendars.tables.YearTable`).  :meth:`YearRegistry.install_year` builds a
new snapshot under a lock and swaps it in with one assignment, dropping the cached
table of the year it replaces; a computation takes one snapshot at its start, so it
never mixes data from before and after an install.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from importlib import resources

from .data import YearData, parse_year_data
from .errors import CalendarYearMissing
from .tables import YearTable, build_table, provisional_table

_DATA_FILE = re.compile(r"\d{4}\.toml")


def load_shipped_years() -> tuple[YearData, ...]:
    """Parse every ``calendars/data/YYYY.toml`` shipped with the package, by year."""
    folder = resources.files(__package__).joinpath("data")
    names = sorted(entry.name for entry in folder.iterdir() if _DATA_FILE.fullmatch(entry.name))
    return tuple(parse_year_data(folder.joinpath(name).read_bytes(), f"calendars/data/{name}")
                 for name in names)


def _by_year(years: Iterable[YearData]) -> dict[int, YearData]:
    by_year: dict[int, YearData] = {}
    for data in years:
        if not isinstance(data, YearData):
            raise TypeError(f"expected YearData, not {type(data).__name__}")
        if data.year in by_year:
            raise ValueError(f"year {data.year} given twice")
        by_year[data.year] = data
    return by_year


class Snapshot:
    """One consistent state of a registry: year data and the tables cached for it."""

    __slots__ = ("tables", "years")

    def __init__(self, years: dict[int, YearData], tables: dict[int, YearTable]) -> None:
        self.years = years      # never changed after construction
        self.tables = tables    # filled lazily; concurrent fills build equal tables

    def table(self, year: int) -> YearTable:
        """The table of ``year``; :class:`CalendarYearMissing` when it has no data."""
        table = self.tables.get(year)
        if table is None:
            data = self.years.get(year)
            if data is None:
                raise CalendarYearMissing(year)
            table = self.tables.setdefault(year, build_table(data))
        return table


class ProvisionalLookup:
    """Lookup that stands in a provisional table for each year without data.

    ``used`` becomes True as soon as a provisional table is handed out.
    """

    __slots__ = ("snapshot", "used")

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.used = False

    def __call__(self, year: int) -> YearTable:
        if year in self.snapshot.years:
            return self.snapshot.table(year)
        self.used = True
        return provisional_table(year)


class YearRegistry:
    """Holiday data by year.

    ``YearRegistry()`` holds the shipped files; ``YearRegistry(years)`` exactly the
    given :class:`YearData` (an empty iterable gives an empty registry).  Change it with
    :meth:`install_year` (one year) or :meth:`reset` (the whole set).
    """

    def __init__(self, years: Iterable[YearData] | None = None) -> None:
        loaded = load_shipped_years() if years is None else years
        self._lock = threading.Lock()
        self._snapshot = Snapshot(_by_year(loaded), {})

    def snapshot(self) -> Snapshot:
        """The current state; keep using the same one for a whole computation."""
        return self._snapshot

    def install_year(self, data: YearData) -> None:
        """Add ``data``'s year or replace it, discarding that year's cached table."""
        if not isinstance(data, YearData):
            raise TypeError(f"expected YearData, not {type(data).__name__}")
        with self._lock:
            old = self._snapshot
            years = dict(old.years)
            years[data.year] = data
            tables = {year: table for year, table in old.tables.items() if year != data.year}
            self._snapshot = Snapshot(years, tables)

    def reset(self, years: Iterable[YearData]) -> None:
        """Replace the whole set of years at once (thread-safe).

        Cached tables are kept only for years whose data is unchanged.
        """
        by_year = _by_year(years)
        with self._lock:
            old = self._snapshot
            tables = {year: table for year, table in old.tables.items()
                      if year in by_year and old.years[year] == by_year[year]}
            self._snapshot = Snapshot(by_year, tables)

    def covered_years(self) -> list[int]:
        """Years with data, ascending."""
        return sorted(self._snapshot.years)

    def year_data(self, year: int) -> YearData:
        """The data of ``year``; :class:`CalendarYearMissing` when there is none."""
        data = self._snapshot.years.get(year)
        if data is None:
            raise CalendarYearMissing(year)
        return data

    def table(self, year: int) -> YearTable:
        """The cached working-day table of ``year`` (built on first use)."""
        return self._snapshot.table(year)

    def cached_years(self) -> list[int]:
        """Years whose table is currently cached, ascending."""
        return sorted(self._snapshot.tables)
