"""Monthly rating totals: the roll-up of a month that has ended, and which periods the
totals can answer instead of the rating table.

A month is rolled up once, after it ended (Beijing time): its ratings are counted per
department, channel, level, exclusion and 评价次数 into ``rating_month_total``, and the
month is recorded in ``rating_month_rollup``. From then on the triggers of migration 0008
apply every insert, change or deletion of one of its ratings to the totals in the same
transaction, so the totals always equal a count of the rating table. On PostgreSQL the
roll-up holds a SHARE lock on the rating table while it counts, so that no rating of the
month is written between its count and its record (SQLite has a single writer).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, insert, literal, select, text
from sqlalchemy.orm import Session

from ..models import Rating, RatingMonthRollup, RatingMonthTotal
from .report_period import Period, in_period, month_of

TOTAL_COLUMNS = ("department_id", "channel", "level", "excluded", "sequence")


def rolled_up(session: Session, months: Iterable[str]) -> set[str]:
    wanted = list(months)
    if not wanted:
        return set()
    return set(session.scalars(select(RatingMonthRollup.month).where(RatingMonthRollup.month.in_(wanted))))


def whole_months(period: Period) -> list[Period] | None:
    """The months a period consists of, or None when it is not made of whole months."""
    if period.first.day != 1:
        return None
    months = [Period.month(period.month_key)]
    while months[-1].last < period.last:
        months.append(months[-1].next_month())
    return months if months[-1].last == period.last else None


def totals_cover(session: Session, period: Period) -> list[str] | None:
    """The month keys whose totals answer for ``period``, when it is made of whole months
    that are all rolled up; otherwise None (the rating table answers)."""
    months = whole_months(period)
    if months is None:
        return None
    keys = [month.month_key for month in months]
    return keys if rolled_up(session, keys) == set(keys) else None


def roll_up(session: Session, month: Period, now: datetime) -> bool:
    """Count an ended month into the totals, in the caller's transaction. False when it
    was rolled up already."""
    if not month.is_month:
        raise ValueError("only a calendar month is rolled up")
    if month.end > now:
        raise ValueError(f"{month.label} has not ended")
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("LOCK TABLE rating IN SHARE MODE"))
    if session.get(RatingMonthRollup, month.month_key) is not None:
        return False
    columns = [getattr(Rating, name) for name in TOTAL_COLUMNS]
    session.execute(insert(RatingMonthTotal).from_select(
        ["month", *TOTAL_COLUMNS, "ratings"],
        select(literal(month.month_key), *columns, func.count())
        .where(in_period(month, Rating.received_at)).group_by(*columns)))
    count = session.scalar(select(func.coalesce(func.sum(RatingMonthTotal.ratings), 0))
                           .where(RatingMonthTotal.month == month.month_key))
    session.add(RatingMonthRollup(month=month.month_key, rolled_up_at=now, ratings=int(count or 0)))
    session.flush()
    return True


def roll_up_ended(session: Session, now: datetime) -> list[str]:
    """Roll up every month that has ended and is not rolled up yet, from the month of the
    first rating on. Returns the months rolled up now."""
    first = session.scalar(select(func.min(Rating.received_at)))
    if first is None:
        return []
    month, current = month_of(first), month_of(now)
    pending = []
    while month.first < current.first:
        pending.append(month)
        month = month.next_month()
    done = rolled_up(session, [m.month_key for m in pending])
    return [m.month_key for m in pending if m.month_key not in done and roll_up(session, m, now)]
