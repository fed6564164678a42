"""Time-zone handling: every calendar question is asked about a date in Asia/Shanghai."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
END_OF_DAY = time(23, 59, 59)


def shanghai_date(moment: datetime, name: str) -> date:
    """The calendar date of a timezone-aware ``moment`` in Asia/Shanghai."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a timezone-aware datetime, "
                        f"not {type(moment).__name__}")
    if moment.utcoffset() is None:
        raise ValueError(f"{name} needs a timezone: got the naive datetime {moment.isoformat()}")
    return moment.astimezone(SHANGHAI).date()


def as_date(value: date, name: str) -> date:
    """A plain date as it is; an aware datetime as its date in Asia/Shanghai."""
    if isinstance(value, datetime):
        return shanghai_date(value, name)
    if not isinstance(value, date):
        raise TypeError(f"{name} must be a date, not {type(value).__name__}")
    return value


def end_of_day(day: date) -> datetime:
    """23:59:59 Asia/Shanghai on ``day``."""
    return datetime.combine(day, END_OF_DAY, tzinfo=SHANGHAI)


def check_count(value: int, name: str, minimum: int | None) -> int:
    """Refuse anything but an ``int`` (bools included) at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, not {type(value).__name__}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be at least {minimum}, got {value}")
    return value
