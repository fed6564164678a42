"""Throughput of the working-day calendar: deadlines and working-day checks per second.

Run with ``python bench/calendar_bench.py`` from the repository root. Not a test: it
prints figures. Receipt times are random moments (in several time zones) across
2018-2026, with 1-40 working days, so deadlines stay inside the covered years.
"""

from __future__ import annotations

import random
import sys
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import calendars

CALLS = 200_000
ROUNDS = 3
ZONES = [ZoneInfo("Asia/Shanghai"), timezone.utc, ZoneInfo("America/New_York")]


def random_receipts(rng: random.Random, count: int) -> list[tuple[datetime, int]]:
    start = datetime(2018, 1, 1, tzinfo=timezone.utc)
    span = int((datetime(2026, 11, 1, tzinfo=timezone.utc) - start).total_seconds())
    return [((start + timedelta(seconds=rng.randrange(span))).astimezone(rng.choice(ZONES)),
             rng.randint(1, 40)) for _ in range(count)]


def random_days(rng: random.Random, count: int) -> list[date]:
    first, last = date(2018, 1, 1).toordinal(), date(2026, 12, 31).toordinal()
    return [date.fromordinal(rng.randint(first, last)) for _ in range(count)]


def best_rate(run, count: int) -> float:
    """Calls per second of the fastest of ROUNDS runs."""
    best = float("inf")
    for _ in range(ROUNDS):
        began = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - began)
    return count / best


def main() -> None:
    rng = random.Random(20260213)
    receipts = random_receipts(rng, CALLS)
    days = random_days(rng, CALLS)
    deadline = calendars.deadline
    provisional = calendars.provisional_deadline
    is_working_day = calendars.is_working_day
    between = calendars.working_days_between
    calendar = calendars.ChinaCalendar()
    method = calendar.deadline
    pairs = list(zip(days, days[1:] + days[:1], strict=True))
    deadline(*receipts[0])  # build the year tables once, outside the timing

    figures = [
        ("calendars.deadline(r, n)", best_rate(
            lambda: [deadline(r, n) for r, n in receipts], CALLS)),
        ("ChinaCalendar().deadline(r, n)", best_rate(
            lambda: [method(r, n) for r, n in receipts], CALLS)),
        ("calendars.provisional_deadline(r, n)", best_rate(
            lambda: [provisional(r, n) for r, n in receipts], CALLS)),
        ("calendars.is_working_day(d)", best_rate(
            lambda: [is_working_day(d) for d in days], CALLS)),
        ("calendars.working_days_between(a, b)", best_rate(
            lambda: [between(a, b) for a, b in pairs], CALLS)),
    ]
    print(f"{CALLS:,} random calls each, best of {ROUNDS} rounds "
          f"(Python {sys.version.split()[0]})")
    for name, rate in figures:
        print(f"  {name:<40} {rate:>12,.0f} calls/s")


if __name__ == "__main__":
    main()
