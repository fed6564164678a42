"""What the report pages show: the figures of the asked period and grouping, the filter's
choices, and the data of the charts (one JSON block that the page's script draws with
ECharts: no inline script, CSP)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from calendars import SHANGHAI
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import Department, Level, User
from .report_charts import TREND_MONTHS, bad_by_dimension, monthly_trend
from .report_figures import Figures, figures
from .report_period import GroupBy, Period, ReportQuery, department_scope, parse_query


@dataclass
class ReportPage:
    query: ReportQuery
    figures: Figures
    departments: list[tuple[int, str]]  # the department filter's choices ([] for a lead)
    department_name: str | None  # the department the figures are limited to
    charts: dict[str, Any]

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [row.as_dict() for row in self.figures.rows]

    @property
    def total(self) -> dict[str, Any]:
        return self.figures.total.as_dict()


def _rows_for_charts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rated = sorted((row for row in rows if row["ratings"]["valid"]),
                   key=lambda row: -(row["ratings"]["good_rate"] or 0))[:30]
    with_cases = [row for row in rows if row["cases"]["opened"]][:30]
    return {
        "ranking": {"labels": [row.get("short_name") or row["label"] for row in rated],
                    "good_rate": [row["ratings"]["good_rate"] for row in rated],
                    "bad_rate": [row["ratings"]["bad_rate"] for row in rated],
                    "valid": [row["ratings"]["valid"] for row in rated]},
        "ontime": {"labels": [row.get("short_name") or row["label"] for row in with_cases],
                   "contact": [row["cases"]["contact_rate"] for row in with_cases],
                   "rectify": [row["cases"]["rectify_rate"] for row in with_cases],
                   "close": [row["cases"]["close_rate"] for row in with_cases],
                   "real_name": [row["cases"]["real_name_rate"] for row in with_cases]},
    }


def chart_data(rows: list[dict[str, Any]], trend: list[dict[str, Any]], heatmap: dict[str, Any],
               levels: dict[str, int]) -> dict[str, Any]:
    return {**_rows_for_charts(rows), "trend": trend, "heatmap": heatmap,
            "levels": [{"name": level.label, "value": levels.get(level.value, 0)} for level in Level]}


def bulletin_charts(content: dict[str, Any]) -> dict[str, Any]:
    return chart_data(content["departments"], content["trend"], content["heatmap"],
                      content["total"]["ratings"]["levels"])


def report_page(session: Session, user: User, args: Mapping[str, str], now: datetime) -> ReportPage:
    """Raises ``ReportQueryError`` (bad parameters) or ``NotVisible`` (a department the
    user may not see, answered as 404)."""
    query = parse_query(session, user, args, now.astimezone(SHANGHAI).date())
    result = figures(session, query.period, query.group, now, query.department_id)
    last_month = Period.month(f"{query.period.last:%Y-%m}")
    trend = monthly_trend(session, last_month.months_back(TREND_MONTHS), query.department_id)
    heatmap = bad_by_dimension(session, query.period, query.department_id)
    rows = [row.as_dict() for row in result.rows]
    choices = filter_choices(session, user)
    name = session.scalar(select(Department.name).where(Department.id == query.department_id)) \
        if query.department_id is not None else None
    return ReportPage(query, result, choices, name,
                      chart_data(rows, trend, heatmap, result.total.as_dict()["ratings"]["levels"]))


def export_figures(session: Session, user: User, args: Mapping[str, str], now: datetime) -> Figures:
    query = parse_query(session, user, args, now.astimezone(SHANGHAI).date())
    return figures(session, query.period, query.group, now, query.department_id)


def filter_choices(session: Session, user: User) -> list[tuple[int, str]]:
    """The department filter's choices: every active department, or none for a lead (who
    sees their own only)."""
    if department_scope(user) is not None:
        return []
    return [(i, name) for i, name in session.execute(
        select(Department.id, Department.name).where(Department.active.is_(True)).order_by(Department.name))]
