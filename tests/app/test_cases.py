"""The case service over the shipped processes: opening a case, who may work which task,
a whole case to its end, appeals and rechecks, missed deadlines, calendar changes.
The clock is moved, never waited for; dates are checked against the 2026 notice."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import calendars
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Case, CaseEvent, CaseOutcome, CaseStage, CaseStatus, Level, Rating, Role, User
from app.services import calendar_years, case_tasks
from app.services.case_tasks import FormInvalid, TaskError
from app.services.cases import CaseError, open_case, recompute_open_deadlines
from app.services.engine_runtime import make_engine
from workflows.clock import ManualClock
from workflows.sweep import sweep
from workflows.tables import HumanTask, Timer

from . import factories

BEIJING = timezone(timedelta(hours=8))


def beijing(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


class District:
    def __init__(self, session: Session) -> None:
        self.dept = factories.department(session, "新建区医疗保障局")
        self.other = factories.department(session, "新建区民政局")
        self.centre = factories.department(session, "新建区政务服务中心", service_center=True)
        self.h1 = factories.user(session, "yb.h1", [Role.HANDLER], self.dept)
        self.h2 = factories.user(session, "yb.h2", [Role.HANDLER], self.dept)
        self.lead = factories.user(session, "yb.lead", [Role.LEAD], self.dept)
        self.outsider = factories.user(session, "mz.h1", [Role.HANDLER], self.other)
        self.v1 = factories.user(session, "verifier.one", [Role.VERIFIER], self.centre)
        self.v2 = factories.user(session, "verifier.two", [Role.VERIFIER], self.centre)
        self.v_own = factories.user(session, "yb.verifier", [Role.VERIFIER], self.dept)
        self.supervisor = factories.user(session, "supervisor.one", [Role.SUPERVISOR])
        self.auditor = factories.user(session, "auditor.one", [Role.AUDITOR])


@pytest.fixture
def district(session: Session) -> District:
    calendar_years.reset_calendar()
    return District(session)


def bad_rating(session: Session, district: District, clock: ManualClock, *, real_name: bool = True) -> Rating:
    rating = factories.rating(session, district.dept)
    rating.received_at = rating.evaluated_at = clock.now()
    rating.real_name = real_name
    session.flush()
    return rating


def open_task(session: Session, case: Case) -> HumanTask:
    tasks = session.scalars(select(HumanTask).where(HumanTask.instance_id == case.instance_id,
                                                    HumanTask.status == "ready")).all()
    assert len(tasks) == 1, [t.bpmn_id for t in tasks]
    return tasks[0]


def work(session: Session, case: Case, bpmn_id: str, user: User, **values: object) -> None:
    task = open_task(session, case)
    assert task.bpmn_id == bpmn_id
    case_tasks.complete(session, task.id, values, user)
    session.commit()


def events(session: Session, case: Case) -> list[str]:
    return list(session.scalars(select(CaseEvent.event).where(CaseEvent.case_id == case.id)
                                .order_by(CaseEvent.seq)))


CONTACTED = {"contacted": True, "contact_method": "phone", "contacted_at": "2026-10-08T09:30:00+08:00",
             "citizen_request": "希望减少跑动次数", "problem_exists": True}
REPORTED = {"action": "report", "measures": "优化窗口排队流程", "result": "已整改并电话告知群众"}


def test_open_case_routes_to_the_department_with_deadlines(session: Session, district: District,
                                                           clock: ManualClock) -> None:
    case = open_case(session, bad_rating(session, district, clock))
    session.commit()
    assert case.case_no.startswith("CP20260930") and case.status is CaseStatus.OPEN
    assert case.department_id == district.dept.id  # R5
    # 3 working days: 10-08, 10-09, 10-10 (Saturday make-up day); 5: … 10-12, 10-13.
    assert case.contact_due_at == beijing("2026-10-10T23:59:59")
    assert case.rectify_due_at == beijing("2026-10-13T23:59:59")
    assert not case.deadlines_provisional
    task = open_task(session, case)
    assert (task.bpmn_id, task.role, task.department_id, task.form, task.stage) == \
        ("triage", "handler", district.dept.id, "on_spot_record", "on_spot")
    assert case.stage is CaseStage.ON_SPOT
    assert events(session, case)[:1] == ["case_opened"] and "instance_started" in events(session, case)
    started = session.scalar(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                     CaseEvent.event == "instance_started"))
    assert started.data == {"instance_id": case.instance_id, "process": "bad_review", "version": 1}


def test_only_bad_ratings_open_one_case(session: Session, district: District, clock: ManualClock) -> None:
    rating = bad_rating(session, district, clock)
    open_case(session, rating)
    with pytest.raises(CaseError, match="already has a case"):
        open_case(session, rating)
    good = factories.rating(session, district.dept, level=Level.SATISFIED)
    with pytest.raises(CaseError, match="only 不满意 and 非常不满意 open a case"):
        open_case(session, good)


def test_who_may_work_a_task(session: Session, district: District, clock: ManualClock) -> None:
    case = open_case(session, bad_rating(session, district, clock))
    task = open_task(session, case)
    for user, message in ((district.outsider, "该任务属于其他部门"), (district.auditor, "需要部门经办人角色"),
                          (district.lead, "需要部门经办人角色")):
        with pytest.raises(TaskError, match=message):
            case_tasks.claim(session, task.id, user)
    case_tasks.claim(session, task.id, district.h1)
    with pytest.raises(TaskError, match="该任务已被他人认领"):
        case_tasks.complete(session, task.id, {"solved_on_spot": False}, district.h2)
    with pytest.raises(TaskError, match="只有本部门负责人可以转派任务"):
        case_tasks.reassign(session, task.id, district.h2, district.h1)
    case_tasks.reassign(session, task.id, district.h2, district.lead)
    assert task.claimed_by == district.h2.id
    case_tasks.complete(session, task.id, {"solved_on_spot": False}, district.h2)
    assert {"task_claimed", "task_reassigned", "task_completed"} <= set(events(session, case))


def test_invalid_form_changes_nothing(session: Session, district: District, clock: ManualClock) -> None:
    case = open_case(session, bad_rating(session, district, clock))
    session.commit()
    before = events(session, case)
    task = open_task(session, case)
    with pytest.raises(FormInvalid) as error:
        case_tasks.complete(session, task.id, {"solved_on_spot": True}, district.h1)
    assert error.value.errors == {"on_spot_measures": "此项为必填项"}
    assert open_task(session, case).id == task.id and events(session, case) == before


def test_a_real_name_case_from_contact_to_filing(session: Session, district: District,
                                                 clock: ManualClock) -> None:
    case = open_case(session, bad_rating(session, district, clock))
    session.commit()
    work(session, case, "triage", district.h1, solved_on_spot=False)
    assert case.stage is CaseStage.CONTACT
    work(session, case, "contact_citizen", district.h1, **CONTACTED)
    assert case.stage is CaseStage.RECTIFICATION
    work(session, case, "rectify", district.h1, **REPORTED)
    work(session, case, "return_visit", district.h2, visited=True, visit_method="phone", citizen_satisfied=True)
    assert open_task(session, case).role == "lead"
    work(session, case, "file_record", district.lead, filing_summary="整改到位，群众满意，予以备案")
    assert case.status is CaseStatus.CLOSED and case.outcome is CaseOutcome.RECTIFIED
    assert case.closed_at is not None and not case.rating.excluded
    assert events(session, case)[-1] == "case_closed"


def test_appeal_with_recheck_by_a_second_verifier_excludes_the_rating(
        session: Session, district: District, clock: ManualClock) -> None:
    case = open_case(session, bad_rating(session, district, clock, real_name=False))
    session.commit()
    work(session, case, "triage", district.h1, solved_on_spot=False)
    work(session, case, "rectify", district.h1, action="appeal")
    work(session, case, "file_appeal", district.h1, appeal_reason="malicious",
         appeal_explanation="评价人与办件无关，系恶意差评", evidence_note="窗口监控记录")
    decide = open_task(session, case)
    with pytest.raises(TaskError, match="审核员不能审核本部门的申诉"):
        case_tasks.claim(session, decide.id, district.v_own)
    work(session, case, "decide_appeal", district.v1, appeal_decision="rejected", decision_reason="证据不足")
    work(session, case, "consider_recheck", district.h1, request_recheck=True, recheck_reason="补充了监控录像")
    recheck = open_task(session, case)
    with pytest.raises(TaskError, match="复核须由另一名审核员办理"):
        case_tasks.claim(session, recheck.id, district.v1)
    work(session, case, "decide_recheck", district.v2, recheck_decision="overturned", recheck_opinion="录像证明恶意")
    assert case.status is CaseStatus.CLOSED and case.outcome is CaseOutcome.APPEAL_UPHELD
    assert case.rating.excluded and session.get(Rating, case.rating_id) is not None  # R10: never deleted
    assert case.rating.excluded_reason == "申诉成立（恶意差评）"
    assert {"appeal_filed", "appeal_decided", "recheck_considered", "recheck_decided"} <= set(events(session, case))


def test_missed_deadlines_escalate_and_the_case_goes_on(session: Session, district: District,
                                                        clock: ManualClock) -> None:
    case = open_case(session, bad_rating(session, district, clock))
    session.commit()
    work(session, case, "triage", district.h1, solved_on_spot=False)
    clock.set(beijing("2026-10-09T12:00:00"))
    assert sweep(db.sessionmaker, make_engine).fired == 0
    clock.set(beijing("2026-10-10T08:00:00"))
    assert sweep(db.sessionmaker, make_engine).fired == 1
    clock.set(beijing("2026-10-11T08:00:00"))
    assert sweep(db.sessionmaker, make_engine).fired == 1
    session.expire_all()
    case = session.get(Case, case.id)
    assert case.overdue and open_task(session, case).bpmn_id == "contact_citizen"
    assert events(session, case)[-3:] == ["deadline_warned", "deadline_missed", "case_escalated"]


def test_a_calendar_change_moves_open_deadlines(session: Session, district: District, clock: ManualClock,
                                                tmp_path: Path) -> None:
    case = open_case(session, bad_rating(session, district, clock))
    session.commit()
    work(session, case, "triage", district.h1, solved_on_spot=False)
    shipped = (Path(calendars.__file__).parent / "data" / "2026.toml").read_text(encoding="utf-8")
    amended = shipped.replace("workdays = [2026-09-20, 2026-10-10]", "workdays = [2026-09-20]")
    assert amended != shipped, "the 2026 file lists the National Day make-up days as expected"
    calendar_years.load_year(session, amended.encode(), "2026-amended.toml", "admin", clock.now())
    session.commit()
    recompute_open_deadlines(session)
    session.commit()
    # Without the 10-10 make-up day: 10-08, 10-09, 10-12.
    assert case.contact_due_at == beijing("2026-10-12T23:59:59")
    moved = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                    CaseEvent.event == "deadline_recomputed")).all()
    # The warning stays on 10-09 (the working day before 10-12 is still 10-09); the planned
    # rectification deadline, whose clock has not started, moves from 10-13 to 10-14.
    assert [(e.data["clock"], e.data["kind"], e.data["old"][:10], e.data["new"][:10]) for e in moved] == [
        ("contact", "deadline", "2026-10-10", "2026-10-12"), ("rectify", "planned", "2026-10-13", "2026-10-14")]
    assert case.rectify_due_at == beijing("2026-10-14T23:59:59")
    calendar_years.reset_calendar()


def test_a_missing_year_gives_provisional_deadlines_until_it_is_loaded(
        session: Session, district: District, clock: ManualClock) -> None:
    """DESIGN.md §3: intake never fails for a missing year; loading it makes the deadlines exact."""
    from .test_calendar_years import YEAR_2027

    clock.set(beijing("2026-12-30T10:00:00"))
    case = open_case(session, bad_rating(session, district, clock))
    waiting_case = open_case(session, bad_rating(session, district, clock))  # stays at triage
    session.commit()
    # Provisional: 12-31, then 2027-01-01 off, 01-04 … (weekends and 1 January only).
    assert case.deadlines_provisional
    assert case.contact_due_at == beijing("2027-01-05T23:59:59")
    assert case.rectify_due_at == beijing("2027-01-07T23:59:59")
    work(session, case, "triage", district.h1, solved_on_spot=False)
    late = session.scalar(select(Timer).where(Timer.instance_id == case.instance_id, Timer.kind == "deadline",
                                              Timer.status == "waiting"))
    assert late.provisional and late.due_at == beijing("2027-01-05T23:59:59")
    # The invented 2027 arrangement (2027-01-01 to 01-03 off) gives the same days here:
    # the deadlines stay, the provisional mark goes, and both moves are recorded.
    calendar_years.load_year(session, YEAR_2027.encode(), "2027.toml", "admin", clock.now())
    session.commit()
    recompute_open_deadlines(session)
    session.commit()
    assert not late.provisional and not case.deadlines_provisional
    moved = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                    CaseEvent.event == "deadline_recomputed")).all()
    assert moved and all(e.data["provisional"] is False for e in moved)
    assert not waiting_case.deadlines_provisional  # its triage timers and its planned rectification
    assert waiting_case.rectify_due_at == beijing("2027-01-07T23:59:59")
    assert events(session, waiting_case)[-1] == "deadlines_confirmed"
    calendar_years.reset_calendar()
