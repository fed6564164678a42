"""The report page, a bulletin and the hall's screen in a real browser: ECharts (installed
by ``make install``) draws every chart under the site's Content-Security-Policy, with no
script error."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from calendars import SHANGHAI
from sqlalchemy import func, select

from app.extensions import db
from app.models import Department, Dimension, Level, Rating, RatingDimension, User
from app.services import bulletins
from app.services.cases import open_case
from app.services.report_period import month_of
from workflows.clock import current_clock

from ..app import factories
from .conftest import District, screenshot, sign_in
from .test_case_diagram import in_thread

ECHARTS = os.path.join(os.path.dirname(__file__), "..", "..", "app", "static", "vendor", "echarts", "echarts.min.js")
pytestmark = pytest.mark.skipif(not os.path.exists(ECHARTS), reason="ECharts is not installed: run `make install`")


def some_ratings(district: District) -> tuple[str, int]:
    """Ratings of today (one bad, with its case) and last month's bulletin; returns its month
    and how many ratings the server received today."""
    with district.app.app_context():
        session = db.session
        medical = session.scalar(select(Department).where(Department.name == "新建区医疗保障局"))
        now = datetime.now(timezone.utc)  # the server runs on real time
        for level in (Level.VERY_SATISFIED, Level.SATISFIED, Level.DISSATISFIED):
            rating = factories.rating(session, medical, level=level)
            rating.received_at = rating.evaluated_at = now
            if level.is_bad:
                rating.dimension_tags = [RatingDimension(dimension=Dimension.EFFICIENCY)]
                open_case(session, rating)
        session.commit()
        month = month_of(current_clock().now()).previous_month()
        bulletins.generate(session, month, "supervisor")
        session.commit()
        assert session.scalar(select(User.id).where(User.username == "supervisor")) is not None
        # Other browser tests share the server's database and rate today too: count them all.
        midnight = datetime.now(SHANGHAI).replace(hour=0, minute=0, second=0, microsecond=0)
        today = session.scalar(select(func.count()).select_from(Rating).where(Rating.received_at >= midnight))
        return month.month_key, today


def watch(page: object) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)  # type: ignore[attr-defined]
            if message.type == "error" and not message.text.startswith("Failed to load resource") else None)
    page.on("response", lambda response: problems.append(f"{response.status} {response.url}")  # type: ignore[attr-defined]
            if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    page.on("pageerror", lambda error: problems.append(str(error)))  # type: ignore[attr-defined]
    return problems


def test_report_bulletin_and_screen_draw_their_charts(district: District, new_page: object) -> None:
    month, today = in_thread(lambda: some_ratings(district))
    page = new_page()
    problems = watch(page)
    sign_in(page, district, "supervisor")
    page.goto(f"{district.url}/reports")  # type: ignore[attr-defined]
    page.wait_for_selector(".charts[data-ready=true]")  # type: ignore[attr-defined]
    for name in ("trend", "ranking", "ontime", "heatmap"):
        assert page.locator(f'figure[data-chart="{name}"] canvas').count() >= 1, name  # type: ignore[attr-defined]
    screenshot(page, "report-page")
    page.goto(f"{district.url}/reports/bulletins/{month}")  # type: ignore[attr-defined]
    page.wait_for_selector(".charts[data-ready=true]")  # type: ignore[attr-defined]
    assert page.locator('figure[data-chart="trend"] canvas').count() >= 1  # type: ignore[attr-defined]
    screenshot(page, "bulletin-page")
    page.goto(f"{district.url}/reports/dashboard")  # type: ignore[attr-defined]
    page.wait_for_selector("body[data-ready=true]")  # type: ignore[attr-defined]
    assert page.locator('[data-chart="levels"] canvas').count() >= 1  # type: ignore[attr-defined]
    assert page.locator('[data-field="ratings_today"]').inner_text() == str(today)  # type: ignore[attr-defined]
    screenshot(page, "hall-screen")
    assert not problems, problems
