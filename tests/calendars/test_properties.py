"""Property tests: the table-based arithmetic against its definitions."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from calendars import (
    SHANGHAI,
    add_working_days,
    deadline,
    is_working_day,
    provisional_deadline,
    remaining_working_days,
    working_days_between,
)

ZONES = [timezone.utc, SHANGHAI, ZoneInfo("America/New_York"), ZoneInfo("Europe/Berlin"),
         timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]

# Receipts from 2018 to the end of October 2026 with at most 40 working days stay inside
# the covered years 2018-2026.
receipts = st.datetimes(min_value=datetime(2018, 1, 2), max_value=datetime(2026, 10, 31),
                        timezones=st.sampled_from(ZONES))
# For `now` moved up to 60 days before and 90 days after the receipt.
inner_receipts = st.datetimes(min_value=datetime(2018, 3, 5), max_value=datetime(2026, 9, 1),
                              timezones=st.sampled_from(ZONES))
counts = st.integers(min_value=1, max_value=40)
days = st.dates(min_value=date(2018, 3, 1), max_value=date(2026, 10, 31))
offsets = st.integers(min_value=-40, max_value=40)


def local_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()


def reference_deadline_date(start: date, n: int) -> date:
    """Day-by-day definition: walk forward counting working days."""
    day = start
    while n:
        day += timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


@given(receipts, counts)
def test_deadline_is_end_of_a_working_day_with_exactly_n_working_days(r: datetime, n: int) -> None:
    due = deadline(r, n)
    assert due.tzinfo == SHANGHAI
    assert (due.hour, due.minute, due.second, due.microsecond) == (23, 59, 59, 0)
    assert is_working_day(due.date())
    assert working_days_between(local_date(r), due.date()) == n
    assert working_days_between(local_date(r), due.date() - timedelta(days=1)) == n - 1
    assert due.date() == reference_deadline_date(local_date(r), n)
    assert add_working_days(local_date(r), n) == due.date()


@given(receipts, receipts, counts)
def test_deadline_is_monotone_in_the_receipt_time(r1: datetime, r2: datetime, n: int) -> None:
    early, late = sorted((r1, r2))
    assert deadline(early, n) <= deadline(late, n)


@given(receipts, counts, counts)
def test_deadline_is_strictly_monotone_in_n(r: datetime, n1: int, n2: int) -> None:
    if n1 < n2:
        assert deadline(r, n1) < deadline(r, n2)
    elif n1 == n2:
        assert deadline(r, n1) == deadline(r, n2)


@given(receipts, counts)
def test_provisional_deadline_is_exact_inside_the_covered_years(r: datetime, n: int) -> None:
    assert provisional_deadline(r, n) == (deadline(r, n), False)


@given(inner_receipts, counts, st.integers(min_value=-60, max_value=90))
def test_remaining_working_days_agrees_with_deadline(r: datetime, n: int, shift: int) -> None:
    due = deadline(r, n)
    assert remaining_working_days(r, due) == n
    now = r + timedelta(days=shift)
    left = remaining_working_days(now, due)
    today = local_date(now)
    # The defining identity: from the day of `now`, `left` working days lead to the
    # deadline's day, whatever kind of day `now` falls on.
    assert add_working_days(today, left) == due.date()
    if left >= 1:
        assert deadline(now, left) == due
    if today == due.date():
        assert left == 0
    if today > due.date():
        assert left <= -1
    else:
        assert left == working_days_between(today, due.date())


@given(days, offsets)
def test_add_working_days_and_between_are_inverse(start: date, k: int) -> None:
    end = add_working_days(start, k)
    assert is_working_day(end)
    if k > 0 or is_working_day(start):
        assert working_days_between(start, end) == k
    else:
        # From a day off with k <= 0: k == 0 rolls forward to the next working day (one
        # working day in between), and k < 0 lands on the |k|-th working day before it,
        # so (end, start] holds only |k| - 1 working days.
        assert working_days_between(start, end) == k + 1


@given(days, days)
def test_between_is_antisymmetric_and_counts_days(a: date, b: date) -> None:
    assert working_days_between(a, b) == -working_days_between(b, a)
    low, high = sorted((a, b))
    expected = sum(1 for i in range(1, (high - low).days + 1)
                   if is_working_day(low + timedelta(days=i)))
    assert working_days_between(low, high) == expected


@settings(max_examples=50)
@given(days, days, days)
def test_between_is_additive(a: date, b: date, c: date) -> None:
    assert working_days_between(a, c) == working_days_between(a, b) + working_days_between(b, c)
