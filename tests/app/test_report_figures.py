"""The report figures over a month of known data (``report_month``): every figure checked to
the unit, by department, channel, hall / online and in total; coverage (R4); the rules of
the figures' definitions (``app.services.report_figures``) one by one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from app.models import Level
from app.services.report_figures import figures
from app.services.report_period import GroupBy, Period
from workflows.clock import ManualClock

from .report_month import Month, as_of, build_month

OCTOBER = Period.month("2026-10")
LEVEL_ORDER = (Level.VERY_SATISFIED, Level.SATISFIED, Level.BASICALLY_SATISFIED, Level.DISSATISFIED,
               Level.VERY_DISSATISFIED)
CASE_FIELDS = ("opened", "excluded", "on_spot", "complex", "contact_due", "contacted_on_time", "contacted_late",
               "rectify_due", "rectified_on_time", "rectified_late", "close_due", "closed", "closed_on_time", "open",
               "overdue_open", "overdue_ever", "real_name", "real_name_due", "real_name_done", "appeals_filed",
               "appeals_upheld", "appeals_rejected", "rechecks", "rechecks_overturned")


@pytest.fixture
def month(session: Session, clock: ManualClock) -> Month:
    return build_month(session, clock)


def levels(row: object) -> tuple[int, ...]:
    return tuple(row.ratings.levels[level] for level in LEVEL_ORDER)  # type: ignore[attr-defined]


def case_numbers(row: object) -> dict[str, int]:
    return {name: getattr(row.cases, name) for name in CASE_FIELDS}  # type: ignore[attr-defined]


def test_figures_by_department_to_the_unit(session: Session, month: Month) -> None:
    result = figures(session, OCTOBER, GroupBy.DEPARTMENT, as_of())
    rows = {row.label: row for row in result.rows}
    assert list(rows) == ["新建区医疗保障局", "新建区市场监督管理局", "新建区民政局"]  # the centre owns no item
    a, b, c = rows["新建区医疗保障局"], rows["新建区民政局"], rows["新建区市场监督管理局"]
    # Ratings by level (valid first ratings), excluded apart, rates over valid ones.
    assert levels(a) == (6, 3, 2, 3, 2) and a.ratings.excluded == 1
    assert (a.ratings.valid, a.ratings.good, a.ratings.bad) == (16, 11, 5)
    assert (a.ratings.good_rate, a.ratings.bad_rate) == (Decimal("68.75"), Decimal("31.25"))
    assert levels(b) == (70, 4, 1, 3, 1) and b.ratings.excluded == 0
    assert (b.ratings.good_rate, b.ratings.bad_rate) == (Decimal("94.94"), Decimal("5.06"))
    assert levels(c) == (0, 0, 0, 0, 0) and c.ratings.good_rate is None
    total = result.total
    assert levels(total) == (76, 7, 3, 6, 3) and total.ratings.excluded == 1
    assert (total.ratings.good_rate, total.ratings.bad_rate) == (Decimal("90.53"), Decimal("9.47"))
    # Follow-ups: both on A's records; C1's came after its case closed, C4's before.
    assert (a.ratings.follow_ups, a.ratings.follow_ups_good) == (2, 2)
    assert (a.ratings.after_rectification, a.ratings.after_rectification_good) == (1, 1)
    assert (b.ratings.follow_ups, b.ratings.after_rectification) == (0, 0)
    # Cases, as they stand on 2026-11-02 09:00.
    assert case_numbers(a) == {
        "opened": 6, "excluded": 1, "on_spot": 0, "complex": 1,
        "contact_due": 4, "contacted_on_time": 3, "contacted_late": 1,  # C1 (at 23:59:59 of its day), C4, C9; C2 late
        "rectify_due": 3, "rectified_on_time": 2, "rectified_late": 1,  # C1, C2 (15 WD); C4 after its pause
        "close_due": 4, "closed": 4, "closed_on_time": 3, "open": 1, "overdue_open": 0, "overdue_ever": 2,
        "real_name": 5, "real_name_due": 4, "real_name_done": 3,  # C9's return visit did not reach the citizen
        "appeals_filed": 2, "appeals_upheld": 1, "appeals_rejected": 1, "rechecks": 1, "rechecks_overturned": 0}
    assert case_numbers(b) == {
        "opened": 4, "excluded": 0, "on_spot": 2, "complex": 0,
        "contact_due": 2, "contacted_on_time": 1, "contacted_late": 0,  # C5; C6 missed and still open
        "rectify_due": 0, "rectified_on_time": 0, "rectified_late": 0,  # C5's clock is paused by its appeal
        "close_due": 2, "closed": 2, "closed_on_time": 2, "open": 2, "overdue_open": 1, "overdue_ever": 1,
        "real_name": 3, "real_name_due": 1, "real_name_done": 1,
        "appeals_filed": 1, "appeals_upheld": 0, "appeals_rejected": 0, "rechecks": 0, "rechecks_overturned": 0}
    assert case_numbers(c) == dict.fromkeys(CASE_FIELDS, 0)
    assert (total.cases.contact_rate, total.cases.rectify_rate, total.cases.close_rate, total.cases.real_name_rate) \
        == (Decimal("66.67"), Decimal("66.67"), Decimal("83.33"), Decimal("80.00"))
    assert (a.cases.real_name_rate, b.cases.real_name_rate, c.cases.real_name_rate) == \
        (Decimal("75.00"), Decimal("100.00"), None)


def test_figures_by_channel_and_hall_or_online(session: Session, month: Month) -> None:
    channels = figures(session, OCTOBER, GroupBy.CHANNEL, as_of(), with_coverage=False)
    by_key = {row.key: row for row in channels.rows}
    assert [row.key for row in channels.rows] == ["window_device", "qr_code", "web_portal", "mobile_app",
                                                 "self_service", "hotline", "sms"]
    assert {key: levels(row) for key, row in by_key.items()} == {
        "window_device": (68, 4, 1, 1, 1), "qr_code": (1, 1, 0, 1, 0), "web_portal": (4, 0, 0, 2, 0),
        "mobile_app": (2, 1, 0, 1, 1), "self_service": (0, 0, 2, 1, 0), "hotline": (0, 1, 0, 0, 1),
        "sms": (1, 0, 0, 0, 0)}
    assert by_key["window_device"].ratings.excluded == 1 and by_key["window_device"].extra == {"kind": "hall"}
    assert by_key["hotline"].extra == {"kind": "online"}
    assert by_key["mobile_app"].cases.opened == 2 and by_key["mobile_app"].cases.open == 1  # C1 closed, C8 open
    kinds = {row.key: row for row in figures(session, OCTOBER, GroupBy.CHANNEL_KIND, as_of()).rows}
    assert (kinds["hall"].ratings.valid, kinds["hall"].ratings.good, kinds["hall"].ratings.good_rate) == \
        (81, 77, Decimal("95.06"))
    assert (kinds["online"].ratings.valid, kinds["online"].ratings.good, kinds["online"].ratings.good_rate) == \
        (14, 9, Decimal("64.29"))
    assert (kinds["hall"].cases.opened, kinds["online"].cases.opened) == (5, 5)


def test_figures_by_item_and_staff(session: Session, month: Month) -> None:
    items = {row.extra["code"]: row for row in figures(session, OCTOBER, GroupBy.ITEM, as_of()).rows}
    a1 = items[month.items["a1"].code]
    assert a1.label == f"{month.items['a1'].code} 医保关系转移"
    assert (a1.ratings.valid, a1.ratings.bad, a1.ratings.excluded, a1.cases.opened) == (9, 3, 1, 4)
    assert set(items) == {month.items[name].code for name in ("a1", "a2", "b1", "b2")}
    staff = {row.label: row for row in figures(session, OCTOBER, GroupBy.STAFF, as_of()).rows}
    sa1 = staff[f"王一（{month.staff['sa1'].staff_no}，新建区医疗保障局）"]
    assert (sa1.ratings.valid, sa1.ratings.good, sa1.ratings.excluded, sa1.cases.opened) == (5, 4, 1, 2)
    assert list(staff)[-1] == "未记录工作人员"  # ratings that named no staff member, last
    nobody = staff["未记录工作人员"]
    assert (nobody.ratings.valid, nobody.cases.opened) == (13, 4)


def test_coverage_of_items_departments_and_staff(session: Session, month: Month) -> None:
    coverage = figures(session, OCTOBER, GroupBy.DEPARTMENT, as_of()).coverage
    assert coverage is not None
    assert (coverage.items, coverage.items_rated, coverage.items_rate) == (6, 4, Decimal("66.67"))
    assert [item["code"] for item in coverage.unrated_items] == sorted(
        [month.items["a3"].code, month.items["c1"].code])  # the inactive a4 is not counted
    assert (coverage.departments, coverage.departments_rated, coverage.departments_rate) == (3, 2, Decimal("66.67"))
    assert (coverage.staff, coverage.staff_rated, coverage.staff_rate) == (4, 3, Decimal("75.00"))
    own = figures(session, OCTOBER, GroupBy.DEPARTMENT, as_of(), month.a.id).coverage
    assert own is not None and (own.items, own.items_rated, own.staff, own.staff_rated, own.departments) == \
        (3, 2, 3, 2, 1)


def test_period_boundaries_are_beijing_days(session: Session, month: Month) -> None:
    """10-01 00:00:00 and 10-31 23:59:59 Beijing time are October; 09-30 23:59:59 and
    11-01 00:00:00 are not (UTC would put them on the other side)."""
    first_day = figures(session, Period.of_day(OCTOBER.first), GroupBy.DEPARTMENT, as_of(), with_coverage=False)
    assert first_day.total.ratings.valid == 1
    september = figures(session, Period.month("2026-09"), GroupBy.DEPARTMENT, as_of(), with_coverage=False)
    assert (september.total.ratings.valid, september.total.ratings.good) == (15, 13)
    november = figures(session, Period.month("2026-11"), GroupBy.DEPARTMENT, as_of(), with_coverage=False)
    assert november.total.ratings.valid == 1
    span = figures(session, Period(OCTOBER.first, Period.month("2026-11").last), GroupBy.DEPARTMENT, as_of(),
                   with_coverage=False)
    assert span.total.ratings.valid == 96 and span.total.cases.opened == 10


def test_a_lead_filter_keeps_one_department(session: Session, month: Month) -> None:
    own = figures(session, OCTOBER, GroupBy.CHANNEL_KIND, as_of(), month.b.id)
    assert own.total.ratings.valid == 79 and own.total.cases.opened == 4
    assert {row.key: row.ratings.valid for row in own.rows} == {"hall": 71, "online": 8}
