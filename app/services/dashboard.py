"""The hall's big screen (大屏): today's ratings and live good-rating rate, this month's
rate, open bad-rating cases by stage and the overdue count — for every department, or a
lead's own. No personal data and no comment text: the screen hangs in a public hall."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from calendars import SHANGHAI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..models import Case, CaseStage, CaseStatus, Department, Rating
from .report_figures import figures
from .report_period import GroupBy, Period, month_of
from .report_ratings import HALL, ONLINE, in_period, percent, rating_figures

REFRESH_SECONDS = 30
RECENT = 12


def dashboard(session: Session, now: datetime, department_id: int | None = None) -> dict[str, Any]:
    today = Period.of_day(now.astimezone(SHANGHAI).date())
    month = month_of(now)
    today_figures = figures(session, today, GroupBy.CHANNEL_KIND, now, department_id, with_coverage=False)
    month_total = rating_figures(session, month, GroupBy.CHANNEL_KIND, department_id)
    month_valid = sum(f.valid for f in month_total.values())
    month_good = sum(f.good for f in month_total.values())
    stages = (select(Case.stage, func.count()).join(Rating, Rating.id == Case.rating_id)
              .where(Case.status == CaseStatus.OPEN, Rating.excluded.is_(False)).group_by(Case.stage))
    overdue = (select(func.count()).select_from(Case).join(Rating, Rating.id == Case.rating_id)
               .where(Case.status == CaseStatus.OPEN, Case.overdue.is_(True), Rating.excluded.is_(False)))
    recent = (select(Rating.received_at, Rating.level, Rating.channel, Department.short_name)
              .join(Department, Department.id == Rating.department_id)
              .where(in_period(today, Rating.received_at)).order_by(Rating.received_at.desc(), Rating.id.desc())
              .limit(RECENT))
    if department_id is not None:
        stages = stages.where(Case.department_id == department_id)
        overdue = overdue.where(Case.department_id == department_id)
        recent = recent.where(Rating.department_id == department_id)
    by_stage = {stage: count for stage, count in session.execute(stages)}
    total = today_figures.total.ratings
    kinds = {row.key: row.ratings for row in today_figures.rows}
    return {
        "now": now.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
        "today": today.first.isoformat(),
        "refresh_seconds": REFRESH_SECONDS,
        "ratings_today": total.valid + total.excluded + total.follow_ups,
        "valid_today": total.valid,
        "good_today": total.good,
        "bad_today": total.bad,
        "good_rate_today": _number(total.good_rate),
        "levels_today": [{"name": level.label, "value": count} for level, count in total.levels.items()],
        "hall_good_rate_today": _number(kinds[HALL].good_rate) if HALL in kinds else None,
        "online_good_rate_today": _number(kinds[ONLINE].good_rate) if ONLINE in kinds else None,
        "good_rate_month": _number(percent(month_good, month_valid)),
        "valid_month": month_valid,
        "cases_today": today_figures.total.cases.opened,
        "open_by_stage": [{"stage": stage.value, "name": stage.label, "value": by_stage.get(stage, 0)}
                          for stage in CaseStage if stage is not CaseStage.CLOSED],
        "open_total": sum(by_stage.values()),
        "overdue": session.scalar(overdue) or 0,
        "recent": [{"time": moment.astimezone(SHANGHAI).strftime("%H:%M"), "level": level.label,
                    "bad": level.is_bad, "channel": channel.label, "department": name}
                   for moment, level, channel, name in session.execute(recent)],
    }


def _number(value: Any) -> float | None:
    return float(value) if value is not None else None
