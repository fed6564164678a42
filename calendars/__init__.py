"""China's official working-day calendar and the deadlines computed on it.

Pure Python (standard library and workalendar): no web framework, nothing from the
application or the workflow engine.  Holiday data comes from the State Council
General Office notices, one TOML file per year in ``calendars/data``.
"""

from .calendar import ChinaCalendar
from .clock import SHANGHAI
from .data import FESTIVALS, Festival, YearData, load_year_file, parse_year_data
from .deadlines import (
    add_working_days,
    calendar_in_context,
    covered_years,
    deadline,
    default_calendar,
    install_year,
    is_working_day,
    provisional_add_working_days,
    provisional_deadline,
    provisional_remaining_working_days,
    remaining_working_days,
    working_days_between,
    year_data,
)
from .errors import CalendarDataError, CalendarError, CalendarYearMissing
from .registry import YearRegistry, load_shipped_years

__all__ = [
    "FESTIVALS",
    "SHANGHAI",
    "CalendarDataError",
    "CalendarError",
    "CalendarYearMissing",
    "ChinaCalendar",
    "Festival",
    "YearData",
    "YearRegistry",
    "add_working_days",
    "calendar_in_context",
    "covered_years",
    "deadline",
    "default_calendar",
    "install_year",
    "is_working_day",
    "load_shipped_years",
    "load_year_file",
    "parse_year_data",
    "provisional_add_working_days",
    "provisional_deadline",
    "provisional_remaining_working_days",
    "remaining_working_days",
    "working_days_between",
    "year_data",
]
