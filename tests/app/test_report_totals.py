"""Monthly rating totals: rolled up once a month has ended, then kept in step with the rating
table by database triggers — a late rating, an exclusion by an upheld appeal, a change, a
deletion — so that figures read from the totals always equal figures counted from the
ratings (the known month of ``report_month``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.models import Channel, Level, Rating, RatingMonthRollup, RatingMonthTotal
from app.services.bulletin import build
from app.services.report_charts import monthly_trend
from app.services.report_period import GroupBy, Period
from app.services.report_ratings import rating_figures
from app.services.report_totals import roll_up, roll_up_ended, totals_cover, whole_months
from workflows.clock import ManualClock

from .report_month import Month, as_of, build_month, rating

SEPTEMBER, OCTOBER = Period.month("2026-09"), Period.month("2026-10")
BOTH = Period(SEPTEMBER.first, OCTOBER.last)
GROUPINGS = (GroupBy.DEPARTMENT, GroupBy.CHANNEL, GroupBy.CHANNEL_KIND, (GroupBy.DEPARTMENT, GroupBy.CHANNEL))


@pytest.fixture
def month(session: Session, clock: ManualClock) -> Month:
    return build_month(session, clock)


def same_as_counted(session: Session) -> None:
    """Every figure from the totals equals the same figure counted from the ratings."""
    for period in (SEPTEMBER, OCTOBER, BOTH):
        assert totals_cover(session, period) is not None
        for grouping in GROUPINGS:
            from_totals = {k: v.as_dict() for k, v in rating_figures(session, period, grouping).items()
                           if v.valid or v.excluded or v.follow_ups}
            counted = {k: v.as_dict() for k, v in rating_figures(session, period, grouping, use_totals=False).items()}
            assert from_totals == counted, (period, grouping)
    months = OCTOBER.months_back(12)
    assert monthly_trend(session, months) == monthly_trend(session, months, use_totals=False)


def test_ended_months_are_rolled_up_once(session: Session, month: Month) -> None:
    live = build(session, OCTOBER, as_of())
    assert roll_up_ended(session, as_of()) == ["2026-09", "2026-10"]  # November has not ended
    assert roll_up_ended(session, as_of()) == []
    assert roll_up(session, OCTOBER, as_of()) is False
    with pytest.raises(ValueError, match="has not ended"):
        roll_up(session, Period.month("2026-11"), as_of())
    rollups = {r.month: r.ratings for r in session.scalars(select(RatingMonthRollup))}
    assert rollups == {"2026-09": 15, "2026-10": 98}  # every rating: excluded ones and follow-ups too
    assert session.scalar(select(func.sum(RatingMonthTotal.ratings)).where(RatingMonthTotal.month == "2026-10")) == 98
    same_as_counted(session)
    assert build(session, OCTOBER, as_of()) == live  # the bulletin reads the same from the totals


def test_later_changes_of_rolled_up_months_reach_the_totals(session: Session, month: Month) -> None:
    roll_up_ended(session, as_of())
    october = session.scalars(select(Rating).where(Rating.received_at >= OCTOBER.start,
                                                   Rating.received_at < OCTOBER.end, Rating.sequence == 1,
                                                   Rating.level == Level.SATISFIED).order_by(Rating.id)).all()
    # An exclusion by an upheld appeal, weeks after the month ended (R10).
    october[0].excluded, october[0].excluded_reason = True, "申诉成立（误评）"
    session.flush()
    same_as_counted(session)
    # A rating of October that reaches the system late, stamped with its time of receipt.
    rating(session, month, month.b, "2026-10-31T23:30:00", Level.VERY_DISSATISFIED, Channel.HOTLINE, item="b1")
    # Corrections of a rating's department, channel and level.
    october[1].department_id, october[1].channel, october[1].level = month.b.id, Channel.SMS, Level.DISSATISFIED
    session.flush()
    same_as_counted(session)
    # A rating moved from a month that is not rolled up into one that is, and back.
    november = session.scalar(select(Rating).where(Rating.received_at >= OCTOBER.end))
    november.received_at = OCTOBER.end - timedelta(seconds=1)
    session.flush()
    same_as_counted(session)
    november.received_at = OCTOBER.end
    session.flush()
    same_as_counted(session)
    # A deletion (ratings are never deleted by the application; an archive might).
    session.execute(delete(Rating).where(Rating.id == october[2].id))
    same_as_counted(session)
    totals = rating_figures(session, OCTOBER, GroupBy.DEPARTMENT)
    assert totals[month.a.id].excluded == 2 and totals[month.b.id].levels[Level.VERY_DISSATISFIED] == 2


def test_periods_that_are_not_whole_rolled_up_months_count_the_ratings(session: Session, month: Month) -> None:
    roll_up(session, SEPTEMBER, as_of())
    assert whole_months(Period(OCTOBER.first, OCTOBER.first)) is None
    assert [m.month_key for m in whole_months(BOTH)] == ["2026-09", "2026-10"]
    assert totals_cover(session, SEPTEMBER) == ["2026-09"]
    assert totals_cover(session, OCTOBER) is None and totals_cover(session, BOTH) is None
    figures = rating_figures(session, BOTH, GroupBy.DEPARTMENT)
    assert sum(f.valid for f in figures.values()) == 15 + 95
    assert rating_figures(session, OCTOBER, GroupBy.ITEM) == rating_figures(session, OCTOBER, GroupBy.ITEM,
                                                                           use_totals=False)
