"""The data of the report charts (drawn with Apache ECharts on the pages and with
ReportLab in the PDF): ratings and rates per month, and bad ratings by dimension ×
department. Aggregated in SQL, one query each."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, func, literal, or_, select
from sqlalchemy.orm import Session

from ..models import Department, Dimension, Level, Rating, RatingDimension, RatingMonthTotal
from .report_period import Period, in_period
from .report_ratings import BAD_LEVELS, RatingFigures
from .report_totals import rolled_up

TREND_MONTHS = 12


def monthly_trend(session: Session, months: list[Period], department_id: int | None = None, *,
                  use_totals: bool = True) -> list[dict[str, Any]]:
    """Valid first ratings, good and bad ones, and both rates, per month (oldest first):
    rolled-up months from the monthly totals, the others from the rating table."""
    if not months:
        return []
    figures = {month.month_key: RatingFigures() for month in months}
    done = rolled_up(session, figures) if use_totals else set()
    if done:
        query = (select(RatingMonthTotal.month, RatingMonthTotal.level, func.sum(RatingMonthTotal.ratings))
                 .where(RatingMonthTotal.month.in_(done), RatingMonthTotal.sequence == 1,
                        RatingMonthTotal.excluded.is_(False))
                 .group_by(RatingMonthTotal.month, RatingMonthTotal.level))
        if department_id is not None:
            query = query.where(RatingMonthTotal.department_id == department_id)
        for key, level, count in session.execute(query):
            figures[key].levels[level] += int(count)
    live = [month for month in months if month.month_key not in done]
    if live:
        bucket = case(*((Rating.received_at < month.end, literal(month.month_key)) for month in live))
        ranges = or_(*(in_period(month, Rating.received_at) for month in live))
        query = (select(bucket, Rating.level, func.count())
                 .where(ranges, Rating.sequence == 1, Rating.excluded.is_(False)).group_by(bucket, Rating.level))
        if department_id is not None:
            query = query.where(Rating.department_id == department_id)
        for key, level, count in session.execute(query):
            figures[key].levels[level] += count
    return [{"month": month.month_key, "label": f"{month.first.year}年{month.first.month}月",
             "valid": f.valid, "good": f.good, "bad": f.bad, "good_rate": _number(f.good_rate),
             "bad_rate": _number(f.bad_rate)} for month, f in ((m, figures[m.month_key]) for m in months)]


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def bad_by_dimension(session: Session, period: Period, department_id: int | None = None) -> dict[str, Any]:
    """Valid bad first ratings of the period per dimension (R2) and department: a rating
    with several dimensions counts once under each. The heat map's axes and cells."""
    query = (select(RatingDimension.dimension, Rating.department_id, func.count())
             .join(Rating, Rating.id == RatingDimension.rating_id)
             .where(in_period(period, Rating.received_at), Rating.sequence == 1, Rating.excluded.is_(False),
                    Rating.level.in_(BAD_LEVELS))
             .group_by(RatingDimension.dimension, Rating.department_id))
    if department_id is not None:
        query = query.where(Rating.department_id == department_id)
    counts = {(dimension, dept): count for dimension, dept, count in session.execute(query)}
    department_ids = sorted({dept for _dimension, dept in counts})
    names = {dept: name for dept, name in session.execute(
        select(Department.id, Department.short_name).where(Department.id.in_(department_ids)))}
    departments = sorted(department_ids, key=lambda dept: names.get(dept, ""))
    dimensions = list(Dimension)
    return {
        "dimensions": [d.label for d in dimensions],
        "departments": [names.get(dept, str(dept)) for dept in departments],
        # [dimension index, department index, count], the form an ECharts heat map takes
        "cells": [[x, y, counts[(dimension, dept)]] for x, dimension in enumerate(dimensions)
                  for y, dept in enumerate(departments) if (dimension, dept) in counts],
        "max": max(counts.values(), default=0),
    }


def level_split(figures: RatingFigures) -> list[dict[str, Any]]:
    """Valid first ratings per level, for a pie or bar."""
    return [{"level": level.value, "label": level.label, "count": figures.levels[level]} for level in Level]
