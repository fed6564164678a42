"""The monthly bulletin (R9, R12) of the known month, every figure checked to the unit;
stored revisions, the outbox record for the supervision office (never sent to the
province), generation on the first working day of the month, and ``hcp bulletin``."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

import calendars
from app.cli.bulletin import bulletin_command
from app.extensions import db
from app.models import Bulletin, OutboxRecord
from app.province_stub import ProvinceStub
from app.services import bulletins
from app.services.bulletin import build
from app.services.push import PushConfigError, push_once
from app.services.report_period import Period
from workflows.clock import ManualClock

from .report_month import Month, as_of, build_month
from .test_cases import beijing
from .test_push import serving

OCTOBER = Period.month("2026-10")


@pytest.fixture
def month(session: Session, clock: ManualClock) -> Month:
    session.execute(delete(OutboxRecord))
    return build_month(session, clock)


def brief(row: dict) -> tuple:
    ratings = row["ratings"]
    return (row["label"], row["rank"], ratings["valid"], ratings["good"], ratings["bad"], ratings["excluded"],
            ratings["good_rate"], ratings["bad_rate"])


def test_the_bulletin_of_the_known_month(session: Session, month: Month) -> None:
    content = build(session, OCTOBER, as_of())
    assert content["title"] == "2026年10月政务服务“好差评”情况通报"
    assert content["period"] == {"first": "2026-10-01", "last": "2026-10-31", "label": "2026年10月"}
    assert content["as_of"] == "2026-11-02T09:00:00+08:00" and content["previous_month"] == "2026-09"
    total = content["total"]
    assert total["ratings"]["levels"] == {"very_satisfied": 76, "satisfied": 7, "basically_satisfied": 3,
                                          "dissatisfied": 6, "very_dissatisfied": 3}
    assert (total["ratings"]["valid"], total["ratings"]["good"], total["ratings"]["bad"], total["ratings"]["excluded"],
            total["ratings"]["good_rate"], total["ratings"]["bad_rate"]) == (95, 86, 9, 1, 90.53, 9.47)
    assert (total["ratings"]["follow_ups"], total["ratings"]["after_rectification"],
            total["ratings"]["after_rectification_good_rate"]) == (2, 1, 100.0)
    cases = total["cases"]
    assert {k: cases[k] for k in ("opened", "excluded", "valid", "on_spot", "complex", "overdue_open", "open")} == \
        {"opened": 10, "excluded": 1, "valid": 9, "on_spot": 2, "complex": 1, "overdue_open": 1, "open": 3}
    assert (cases["contacted_on_time"], cases["contact_due"], cases["contact_rate"]) == (4, 6, 66.67)
    assert (cases["rectified_on_time"], cases["rectify_due"], cases["rectify_rate"]) == (2, 3, 66.67)
    assert (cases["closed_on_time"], cases["close_due"], cases["close_rate"]) == (5, 6, 83.33)
    assert (cases["real_name_done"], cases["real_name_due"], cases["real_name_rate"]) == (4, 5, 80.0)
    assert (cases["appeals_filed"], cases["appeals_upheld"], cases["appeals_rejected"], cases["rechecks"],
            cases["rechecks_overturned"]) == (3, 1, 1, 1, 0)
    # Month on month: September had 15 valid ratings, 13 good.
    assert total["previous"] == {"valid": 15, "good": 13, "bad": 2, "good_rate": 86.67, "bad_rate": 13.33}
    assert total["change"] == {"valid": 80, "good_rate": 3.86, "bad_rate": -3.86}  # 86/95 - 13/15 = 55/1425
    assert content["coverage"] | {"unrated_items": None} == {
        "items": 6, "items_rated": 4, "items_rate": 66.67, "items_unrated": 2, "departments": 3,
        "departments_rated": 2, "departments_rate": 66.67, "staff": 4, "staff_rated": 3, "staff_rate": 75.0,
        "unrated_items": None}
    # Departments ranked by good-rating rate; C has no rating and is listed unranked.
    departments = content["departments"]
    assert [brief(row) for row in departments] == [
        ("新建区民政局", 1, 79, 75, 4, 0, 94.94, 5.06),
        ("新建区医疗保障局", 2, 16, 11, 5, 1, 68.75, 31.25),
        ("新建区市场监督管理局", None, 0, 0, 0, 0, None, None)]
    b, a, c = departments
    assert (b["previous_rank"], b["previous"]["good_rate"], b["change"]) == \
        (1, 100.0, {"valid": 74, "good_rate": -5.06, "bad_rate": 5.06})
    assert (a["previous_rank"], a["previous"]["good_rate"], a["change"]) == \
        (2, 80.0, {"valid": 6, "good_rate": -11.25, "bad_rate": 11.25})
    assert (c["previous_rank"], c["change"]) == (None, {"valid": 0, "good_rate": None, "bad_rate": None})
    assert a["credit_code"] == month.a.credit_code
    assert [row["open_overdue_now"] for row in departments] == [1, 0, 0]
    assert (a["cases"]["contact_rate"], a["cases"]["rectify_rate"], a["cases"]["close_rate"]) == (75.0, 66.67, 75.0)
    assert (b["cases"]["contact_rate"], b["cases"]["rectify_rate"], b["cases"]["close_rate"]) == (50.0, None, 100.0)
    # R12: A's bad ratings are concentrated and its real-name rate is short of 100 %; B has an overdue case open.
    assert content["flagged"] == [
        {"key": str(month.a.id), "label": "新建区医疗保障局", "flags": [
            {"code": "concentrated_bad",
             "text": "差评集中：差评 5 条，差评率 31.25%，达到全部门差评率（9.47%）的 2 倍以上"},
            {"code": "real_name_rate", "text": "实名差评回访整改率 75.00%（3/4），未达 100%"}]},
        {"key": str(month.b.id), "label": "新建区民政局", "flags": [
            {"code": "overdue_open", "text": "整改超期未完成：1 件差评工单已超期仍未办结"}]}]
    # Halls against online channels, and the channels ranked (three share rank 3).
    kinds = {row["key"]: row for row in content["channel_kinds"]}
    assert (kinds["hall"]["ratings"]["valid"], kinds["hall"]["ratings"]["good_rate"], kinds["hall"]["ratings"]["excluded"],
            kinds["hall"]["previous"]["good_rate"], kinds["hall"]["change"]["good_rate"]) == (81, 95.06, 1, 85.71, 9.35)
    assert (kinds["online"]["ratings"]["valid"], kinds["online"]["ratings"]["good_rate"],
            kinds["online"]["previous"]["good_rate"], kinds["online"]["change"]["good_rate"]) == (14, 64.29, 100.0, -35.71)
    assert [(row["key"], row["rank"], row["ratings"]["valid"], row["ratings"]["good_rate"])
            for row in content["channels"]] == [
        ("sms", 1, 1, 100.0), ("window_device", 2, 75, 97.33), ("web_portal", 3, 6, 66.67),
        ("self_service", 3, 3, 66.67), ("qr_code", 3, 3, 66.67), ("mobile_app", 6, 5, 60.0), ("hotline", 7, 2, 50.0)]
    # Charts: the trend of twelve months and the heat map of bad ratings by dimension and department.
    trend = content["trend"]
    assert [row["month"] for row in trend][0] == "2025-11" and len(trend) == 12
    assert [(row["month"], row["valid"], row["bad"], row["bad_rate"]) for row in trend if row["valid"]] == [
        ("2026-09", 15, 2, 13.33), ("2026-10", 95, 9, 9.47)]
    heat = content["heatmap"]
    assert heat["departments"] == ["新建区医疗保障局", "新建区民政局"]
    cells = {(heat["dimensions"][x], heat["departments"][y]): n for x, y, n in heat["cells"]}
    assert cells == {("服务效率", "新建区医疗保障局"): 2, ("办事材料", "新建区医疗保障局"): 1,
                     ("跑动次数", "新建区医疗保障局"): 1, ("办事流程", "新建区医疗保障局"): 1,
                     ("一窗服务", "新建区医疗保障局"): 1, ("服务机制", "新建区民政局"): 1,
                     ("服务效率", "新建区民政局"): 2, ("办事流程", "新建区民政局"): 1}  # C3's 服务收费 is excluded
    assert heat["max"] == 2


def test_generated_stored_and_queued_for_the_supervision_office(session: Session, month: Month,
                                                                tmp_path: Path) -> None:
    bulletin, created = bulletins.generate(session, OCTOBER, "dc.sup")
    session.commit()
    assert created and (bulletin.month, bulletin.revision, bulletin.generated_by) == ("2026-10", 1, "dc.sup")
    assert bulletin.generated_at == as_of() and bulletin.content["total"]["ratings"]["valid"] == 95
    again, created_again = bulletins.generate(session, OCTOBER, "someone")
    assert again.id == bulletin.id and not created_again
    record = session.scalar(select(OutboxRecord).where(OutboxRecord.kind == "bulletin"))
    assert record is not None and record.stream == "bulletin:2026-10"
    payload = record.payload
    assert (payload["month"], payload["revision"], payload["total"]["goodRate"]) == ("2026-10", 1, 90.53)
    assert [(d["name"], d["rank"], d["deptCode"], d["flags"]) for d in payload["departments"]] == [
        ("新建区民政局", 1, month.b.credit_code, ["overdue_open"]),
        ("新建区医疗保障局", 2, month.a.credit_code, ["concentrated_bad", "real_name_rate"]),
        ("新建区市场监督管理局", None, month.c.credit_code, [])]
    assert "李四" not in str(payload) and "13900001111" not in str(payload)  # no personal data
    # A new revision keeps the first, and is queued too.
    second, _ = bulletins.generate(session, OCTOBER, "dc.sup", regenerate=True)
    session.commit()
    assert second.revision == 2 and bulletins.revision(session, "2026-10", 1) is not None
    assert [b.revision for b in bulletins.listing(session)] == [2]
    # The provincial push never sends bulletins; the supervision push sends only them.
    province, office = ProvinceStub(tmp_path / "province.sqlite"), ProvinceStub(tmp_path / "office.sqlite")
    with serving(province) as province_url, serving(office) as office_url:
        push_once(db.sessionmaker, province_url, now=as_of() + timedelta(minutes=1))
        result = push_once(db.sessionmaker, office_url, now=as_of() + timedelta(minutes=1), supervision=True)
    assert {r["kind"] for r in province.records()} <= {"evaluation", "case_milestone"}
    assert result.delivered == 2 and [(r["kind"], r["payload"]["revision"]) for r in office.records()] == [
        ("bulletin", 1), ("bulletin", 2)]


def test_a_month_not_yet_over_is_refused(session: Session, clock: ManualClock) -> None:
    clock.set(beijing("2026-10-31T23:59:59"))
    with pytest.raises(bulletins.BulletinError, match="2026年10月尚未结束"):
        bulletins.generate(session, OCTOBER, "dc.sup")
    with pytest.raises(bulletins.BulletinError, match="自然月"):
        bulletins.generate(session, Period(OCTOBER.first, OCTOBER.first), "dc.sup")
    assert session.scalar(select(func.count()).select_from(Bulletin)) == 0


def test_generated_on_the_first_working_day_of_the_month(app: Flask, session: Session, clock: ManualClock) -> None:
    """October 2026 starts with the National Day break: September's bulletin is due on 10-08."""
    session.execute(delete(OutboxRecord))
    scheduler = BackgroundScheduler(timezone="UTC")
    bulletins.schedule_bulletins(app, scheduler)
    job = scheduler.get_job("monthly-bulletin")
    assert job is not None and job.trigger.interval == timedelta(hours=1)
    assert bulletins.first_working_day(2026, 10).isoformat() == "2026-10-08"
    for moment in ("2026-10-01T09:00:00", "2026-10-07T23:59:59"):
        clock.set(beijing(moment))
        job.func()
        assert session.scalar(select(func.count()).select_from(Bulletin)) == 0, moment
    clock.set(beijing("2026-10-08T00:30:00"))
    job.func()
    stored = session.scalars(select(Bulletin)).all()
    assert [(b.month, b.revision, b.generated_by) for b in stored] == [("2026-09", 1, "system")]
    job.func()  # due once only
    assert session.scalar(select(func.count()).select_from(Bulletin)) == 1
    assert session.scalar(select(func.count()).select_from(OutboxRecord).where(OutboxRecord.kind == "bulletin")) == 1
    clock.set(beijing("2026-11-01T10:00:00"))  # a Sunday
    assert bulletins.generate_due(db.sessionmaker) is None
    clock.set(beijing("2026-11-02T00:05:00"))
    assert bulletins.generate_due(db.sessionmaker).month == "2026-10"


def test_a_missing_calendar_year_stops_the_job_with_a_warning(app: Flask, session: Session, clock: ManualClock,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    clock.set(beijing("2027-01-04T09:00:00"))
    with pytest.raises(calendars.CalendarYearMissing):
        bulletins.generate_due(db.sessionmaker)
    scheduler = BackgroundScheduler(timezone="UTC")
    bulletins.schedule_bulletins(app, scheduler)
    scheduler.get_job("monthly-bulletin").func()
    assert "monthly bulletin not generated" in caplog.text and "2027" in caplog.text
    assert session.scalar(select(func.count()).select_from(Bulletin)) == 0


def test_the_supervision_push_is_scheduled_only_with_a_url(app: Flask) -> None:
    scheduler = BackgroundScheduler(timezone="UTC")
    assert bulletins.schedule_supervision_push(app, scheduler, 5, None) is False
    with pytest.raises(PushConfigError, match="HCP_SUPERVISION_URL"):
        bulletins.schedule_supervision_push(app, scheduler, 5, "ftp://office.example")
    assert bulletins.schedule_supervision_push(app, scheduler, 5, "https://office.example/api/records") is True
    assert scheduler.get_job("supervision-push") is not None


def test_hcp_bulletin_generates_then_shows_the_stored_one(app: Flask, session: Session, month: Month,
                                                         tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(bulletin_command, ["--month", "2026-10"])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("2026年10月政务服务“好差评”情况通报\n第 1 版")
    assert "  1  新建区民政局  评价 79  好评率 94.94%（环比 -5.06）" in first.stdout
    assert "新建区医疗保障局：差评集中：差评 5 条" in first.stdout
    shown = runner.invoke(bulletin_command, ["--month", "2026-10", "--json"])
    assert shown.exit_code == 0 and '"month": "2026-10"' in shown.stdout
    assert "stored bulletin of 2026-10, revision 1" in shown.stderr
    again = runner.invoke(bulletin_command, ["--month", "2026-10", "--regenerate", "--pdf", str(tmp_path / "b.pdf"),
                                             "--xlsx", str(tmp_path / "b.xlsx")])
    assert again.exit_code == 0 and "第 2 版" in again.stdout
    assert (tmp_path / "b.pdf").read_bytes().startswith(b"%PDF") and (tmp_path / "b.xlsx").stat().st_size > 0
    unwritable = runner.invoke(bulletin_command, ["--month", "2026-10", "--pdf", str(tmp_path / "no" / "b.pdf")])
    assert unwritable.exit_code == 2 and "cannot write" in unwritable.stderr
    assert runner.invoke(bulletin_command, ["--month", "2026-13"]).exit_code == 2
    unfinished = runner.invoke(bulletin_command, ["--month", "2026-11"])
    assert unfinished.exit_code == 2 and "2026年11月尚未结束" in unfinished.stderr
    due = runner.invoke(bulletin_command, ["--due"])
    assert due.exit_code == 0 and due.stdout == "no bulletin is due today\n"
    no_url = runner.invoke(bulletin_command, ["--month", "2026-10", "--push"])
    assert no_url.exit_code == 2 and "HCP_SUPERVISION_URL is not set" in no_url.stderr
