"""What a monthly bulletin (一月一通报, R9) says: the month's figures, departments ranked,
halls against online channels and the channels ranked, month-on-month change, the
departments flagged for supervision (R12), and the data of its charts.

Ranking: by good-rating rate, compared as exact fractions (the bad-rating rate is its
complement); rows with equal rates share a rank (1, 2, 2, 4) and are listed by more valid
ratings, then by name. Rows without valid ratings are listed unranked.

Flagged for supervision (督办, R12) — each reason is stated in the bulletin:

- 差评集中: at least ``MIN_BAD`` valid bad ratings in the month and a bad-rating rate of
  at least ``CONCENTRATION`` times the rate of all departments together;
- 整改超期未完成: open cases marked overdue now, whatever month they were received in;
- 实名回访整改未达100%: the real-name return-visit-and-rectification rate (R8) of the
  month's cases below 100 %.

Month-on-month change is the difference in percentage points of each rate, and of the
count of valid ratings, against the previous month computed the same way now.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from calendars import SHANGHAI
from sqlalchemy.orm import Session

from ..models import Channel
from .report_cases import CaseFigures, case_figures, open_overdue_by_department
from .report_charts import TREND_MONTHS, bad_by_dimension, monthly_trend
from .report_figures import FigureRow, figures, key_text
from .report_period import GroupBy, Period
from .report_ratings import CHANNEL_KIND_LABELS, HALL, ONLINE, RatingFigures, rating_figures

MIN_BAD = 3
CONCENTRATION = 2
CONTENT_VERSION = 1


def title(month: Period) -> str:
    return f"{month.first.year}年{month.first.month}月政务服务“好差评”情况通报"


def _fraction(part: int, whole: int) -> Fraction | None:
    return Fraction(part, whole) if whole else None


def change_points(now: Fraction | None, before: Fraction | None) -> float | None:
    """Change of a rate in percentage points, to two places (half up, away from zero)."""
    if now is None or before is None:
        return None
    difference = (now - before) * 100
    value = Decimal(difference.numerator) / Decimal(difference.denominator)
    return float(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _rank(rows: list[Any], ratings_of: Any) -> dict[str, int]:
    """Competition ranks (1, 2, 2, 4) of the rows with valid ratings, by key."""
    def order(row: Any) -> Fraction:
        figures = ratings_of(row)
        return -Fraction(figures.good, figures.valid)

    rated = sorted((row for row in rows if ratings_of(row).valid),
                   key=lambda row: (order(row), -ratings_of(row).valid, row.label))
    ranks: dict[str, int] = {}
    for position, row in enumerate(rated, start=1):
        previous = rated[position - 2] if position > 1 else None
        ranks[row.key] = ranks[previous.key] if previous is not None and order(previous) == order(row) else position
    return ranks


def _comparison(now: RatingFigures, before: RatingFigures) -> dict[str, Any]:
    return {
        "previous": {"valid": before.valid, "good": before.good, "bad": before.bad,
                     "good_rate": _number(before.good_rate), "bad_rate": _number(before.bad_rate)},
        "change": {"valid": now.valid - before.valid,
                   "good_rate": change_points(_fraction(now.good, now.valid), _fraction(before.good, before.valid)),
                   "bad_rate": change_points(_fraction(now.bad, now.valid), _fraction(before.bad, before.valid))},
    }


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None


def _flags(row: FigureRow, overall: RatingFigures, open_overdue: int) -> list[dict[str, str]]:
    flags = []
    ratings, cases = row.ratings, row.cases
    overall_bad = _fraction(overall.bad, overall.valid)
    if ratings.bad >= MIN_BAD and overall_bad is not None and Fraction(ratings.bad, ratings.valid) >= CONCENTRATION * overall_bad:
        flags.append({"code": "concentrated_bad", "text": (
            f"差评集中：差评 {ratings.bad} 条，差评率 {ratings.bad_rate}%，"
            f"达到全部门差评率（{overall.bad_rate}%）的 {CONCENTRATION} 倍以上")})
    if open_overdue:
        flags.append({"code": "overdue_open", "text": f"整改超期未完成：{open_overdue} 件差评工单已超期仍未办结"})
    if cases.real_name_due > cases.real_name_done:
        flags.append({"code": "real_name_rate", "text": (
            f"实名差评回访整改率 {cases.real_name_rate}%（{cases.real_name_done}/{cases.real_name_due}），未达 100%")})
    return flags


def _ranked_rows(rows: list[FigureRow], previous: dict[str, RatingFigures]) -> list[dict[str, Any]]:
    ranks = _rank(rows, lambda row: row.ratings)
    before_rows = [FigureRow(key, key, figures) for key, figures in previous.items()]
    previous_ranks = _rank(before_rows, lambda row: row.ratings)
    result = []
    for row in rows:
        before = previous.get(row.key, RatingFigures())
        result.append({**row.as_dict(), "rank": ranks.get(row.key), "previous_rank": previous_ranks.get(row.key),
                       **_comparison(row.ratings, before)})
    return sorted(result, key=lambda item: (item["rank"] is None, item["rank"] or 0, item["label"]))


BY_DEPARTMENT_AND_CHANNEL = (GroupBy.DEPARTMENT, GroupBy.CHANNEL)


def _fold(pairs: dict[tuple[Any, Channel], Any], key: Callable[[Any, Channel], Any], make: Callable[[], Any]) -> dict:
    """Figures by (department, channel) added up by another key (the figures are counts)."""
    result: dict[Any, Any] = {}
    for (department, channel), figures_of_pair in pairs.items():
        result.setdefault(key(department, channel), make()).add(figures_of_pair)
    return result


def _by_three(pairs: dict[tuple[Any, Channel], Any], make: Callable[[], Any]) -> tuple[dict, dict, dict]:
    """By department, by channel and by hall / online, from figures by both."""
    return (_fold(pairs, lambda department, _channel: department, make),
            _fold(pairs, lambda _department, channel: channel, make),
            _fold(pairs, lambda _department, channel: HALL if channel.is_hall else ONLINE, make))


def build(session: Session, month: Period, as_of: datetime) -> dict[str, Any]:
    """The whole content of the bulletin of ``month`` as the data stands at ``as_of``.
    The month's ratings and cases are each aggregated once, by department and channel."""
    before = month.previous_month()
    ratings = _by_three(rating_figures(session, month, BY_DEPARTMENT_AND_CHANNEL), RatingFigures)
    cases = _by_three(case_figures(session, month, BY_DEPARTMENT_AND_CHANNEL, as_of), CaseFigures)
    departments = figures(session, month, GroupBy.DEPARTMENT, as_of, ratings=ratings[0], cases=cases[0])
    channels = figures(session, month, GroupBy.CHANNEL, as_of, with_coverage=False, ratings=ratings[1],
                       cases=cases[1])
    kinds = figures(session, month, GroupBy.CHANNEL_KIND, as_of, with_coverage=False, ratings=ratings[2],
                    cases=cases[2])
    previous = [{key_text(k): v for k, v in by.items()}
                for by in _by_three(rating_figures(session, before, BY_DEPARTMENT_AND_CHANNEL), RatingFigures)]
    previous_departments, previous_channels, previous_kinds = previous
    previous_total = RatingFigures()
    for figures_before in previous_departments.values():
        previous_total.add(figures_before)
    overdue = open_overdue_by_department(session)
    department_rows = _ranked_rows(departments.rows, previous_departments)
    flagged = []
    items = {item["key"]: item for item in department_rows}
    for row in departments.rows:
        item = items[row.key]
        item["open_overdue_now"] = overdue.get(int(row.key), 0)
        item["flags"] = _flags(row, departments.total.ratings, item["open_overdue_now"])
        if item["flags"]:
            flagged.append({"key": row.key, "label": row.label, "flags": item["flags"]})
    assert departments.coverage is not None
    return {
        "version": CONTENT_VERSION,
        "month": month.month_key,
        "title": title(month),
        "period": {"first": month.first.isoformat(), "last": month.last.isoformat(), "label": month.label},
        "previous_month": before.month_key,
        "as_of": as_of.astimezone(SHANGHAI).isoformat(),
        "thresholds": {"min_bad": MIN_BAD, "concentration": CONCENTRATION},
        "total": {**departments.total.as_dict(), **_comparison(departments.total.ratings, previous_total)},
        "coverage": departments.coverage.as_dict(),
        "departments": department_rows,
        "channel_kinds": [{**row.as_dict(), **_comparison(row.ratings, previous_kinds.get(row.key, RatingFigures()))}
                          for row in kinds.rows],
        "channels": _ranked_rows(channels.rows, previous_channels),
        "flagged": sorted(flagged, key=lambda item: item["label"]),
        "trend": monthly_trend(session, month.months_back(TREND_MONTHS)),
        "heatmap": bad_by_dimension(session, month),
        "channel_kind_labels": CHANNEL_KIND_LABELS,
    }
