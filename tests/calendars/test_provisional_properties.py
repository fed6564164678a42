"""Property tests of the provisional arithmetic (DESIGN.md §3) that intake relies on when a
year has no data yet: across the last covered year and the years after it, deadlines fall on
working days (exact ones where there is data, weekdays other than 1 January where there is
not), grow with the number of days, and agree with the count of days left; the flag says
whether a year without data was used. (test_properties.py covers the covered years.)"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

import calendars
from calendars import SHANGHAI

LAST = max(calendars.covered_years())
# From the autumn of the last covered year into the years without data.
days = st.dates(min_value=date(LAST, 9, 1), max_value=date(LAST + 3, 12, 31))
receipts = st.datetimes(min_value=datetime(LAST, 9, 1), max_value=datetime(LAST + 3, 10, 31),
                        timezones=st.just(SHANGHAI))
counts = st.integers(min_value=1, max_value=40)


def covered(day: date) -> bool:
    return day.year in calendars.covered_years()


def working(day: date) -> bool:
    """The rule the provisional arithmetic follows: the data where there is some, else
    weekdays other than 1 January."""
    if covered(day):
        return calendars.is_working_day(day)
    return day.weekday() < 5 and (day.month, day.day) != (1, 1)


def walk(start: date, n: int) -> date:
    day = start
    while n:
        day += timedelta(days=1)
        n -= working(day)
    return day


@given(days, counts)
def test_add_working_days_lands_on_a_working_day_after_exactly_n(start: date, n: int) -> None:
    end, provisional = calendars.provisional_add_working_days(start, n)
    assert working(end) and end == walk(start, n)
    assert provisional == any(not covered(start + timedelta(days=i)) for i in range((end - start).days + 1))


@given(days, counts, counts)
def test_add_working_days_is_strictly_monotone_in_n(start: date, n1: int, n2: int) -> None:
    first, _ = calendars.provisional_add_working_days(start, n1)
    second, _ = calendars.provisional_add_working_days(start, n2)
    assert (first < second) == (n1 < n2) and (first == second) == (n1 == n2)


@given(receipts, counts)
def test_deadline_is_the_end_of_a_working_day_and_as_many_days_remain(received: datetime, n: int) -> None:
    due, provisional = calendars.provisional_deadline(received, n)
    local = due.astimezone(SHANGHAI)
    assert local.time() == time(23, 59, 59) and working(local.date())
    assert local.date() == calendars.provisional_add_working_days(received.date(), n)[0]
    left, looked_beyond = calendars.provisional_remaining_working_days(received, due)
    assert left == n and looked_beyond == provisional
    if not provisional:
        assert due == calendars.deadline(received, n)


@settings(max_examples=50)
@given(receipts, counts, counts)
def test_deadline_grows_with_the_number_of_days(received: datetime, n1: int, n2: int) -> None:
    first, _ = calendars.provisional_deadline(received, n1)
    second, _ = calendars.provisional_deadline(received, n2)
    assert (first < second) == (n1 < n2)
