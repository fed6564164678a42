"""Exceptions raised by the holiday calendar."""

from __future__ import annotations


class CalendarError(Exception):
    """Base class of every error raised by :mod:`calendars`."""


class CalendarYearMissing(CalendarError):
    """A computation needed a year for which no holiday data is installed.

    The calendar never falls back to "weekends only" on its own: a deadline computed
    without the State Council notice for a year would be wrong without anyone noticing.
    """

    def __init__(self, year: int) -> None:
        self.year = year
        super().__init__(
            f"no holiday data for year {year}: the State Council notice on the "
            f"{year} holiday arrangements has not been loaded"
        )


class CalendarDataError(CalendarError):
    """A holiday data file (or mapping) was refused.

    ``source`` names the file or other origin, ``key`` the offending key path such as
    ``festivals[2].workdays[0]`` (``None`` when the whole document is at fault) and
    ``reason`` says what is wrong.
    """

    def __init__(self, source: str, key: str | None, reason: str) -> None:
        self.source = source
        self.key = key
        self.reason = reason
        where = f"{source}: {key}" if key else source
        super().__init__(f"{where}: {reason}")
