"""Verification by re-execution: every path of the processes, worked through the case
service with the clock moving, replays consistently; an altered input is found at its step."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import calendars
import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Case, CaseEvent
from app.services import calendar_years
from app.services.case_replay import replay_case
from app.services.cases import open_case, recompute_open_deadlines
from app.services.engine_runtime import make_engine
from workflows.clock import ManualClock
from workflows.sweep import sweep

from .test_cases import CONTACTED, REPORTED, District, bad_rating, beijing, district, work  # noqa: F401

VISIT_OK = {"visited": True, "visit_method": "phone", "citizen_satisfied": True}
VISIT_BAD = {"visited": True, "visit_method": "phone", "citizen_satisfied": False, "citizen_opinion": "仍不满意"}
APPEAL = {"appeal_reason": "malicious", "appeal_explanation": "评价人与办件无关", "evidence_note": "窗口监控记录"}


class Scenario:
    def __init__(self, session: Session, district: District, clock: ManualClock, *, real_name: bool) -> None:
        self.session, self.district, self.clock = session, district, clock
        self.case = open_case(session, bad_rating(session, district, clock, real_name=real_name))
        session.commit()

    def do(self, bpmn_id: str, who: str, **values: object) -> Scenario:
        self.clock.advance(timedelta(hours=1))
        work(self.session, self.case, bpmn_id, getattr(self.district, who), **values)
        return self

    def sweep_at(self, moment: str) -> int:
        self.clock.set(beijing(moment))
        fired = sweep(db.sessionmaker, make_engine).fired
        self.session.expire_all()
        return fired

    def replay(self):  # type: ignore[no-untyped-def]
        self.session.expire_all()
        return replay_case(self.session, self.session.get(Case, self.case.id), with_marks=True)


@pytest.fixture
def scenario(session: Session, district: District, clock: ManualClock):  # type: ignore[no-untyped-def]
    return lambda real_name=True: Scenario(session, district, clock, real_name=real_name)


def assert_consistent(result) -> None:  # type: ignore[no-untyped-def]
    assert result.consistent, result.describe()
    assert "一致" in result.describe()


def test_solved_on_the_spot_anonymous(scenario) -> None:  # type: ignore[no-untyped-def]
    run = scenario(real_name=False).do("triage", "h1", solved_on_spot=True, on_spot_measures="当场补正材料")
    run.do("file_record", "lead", filing_summary="当场解决，予以备案")
    result = run.replay()
    assert_consistent(result)
    assert [s.kind for s in result.steps] == ["start", "task", "task"]
    assert result.steps[-1].status == "completed" and result.steps[-1].ready == []
    assert "triage" in result.steps[-1].marks["bad_review"]["completed"]


def test_real_name_contact_rectification_return_visit_filing(scenario) -> None:  # type: ignore[no-untyped-def]
    run = scenario().do("triage", "h1", solved_on_spot=False).do("contact_citizen", "h1", **CONTACTED)
    run.do("rectify", "h1", **REPORTED).do("return_visit", "h2", **VISIT_OK)
    run.do("file_record", "lead", filing_summary="整改到位，予以备案")
    result = run.replay()
    assert_consistent(result)
    first = result.steps[0]
    assert [r[0] for r in first.ready] == ["triage"] and first.ready[0][2] is not None
    triaged = result.steps[1]  # what was derived is compared, not just counted
    assert triaged.recorded == triaged.replayed and triaged.recorded[0][:2] == ("task_opened", "contact_citizen")
    assert {t[0] for t in first.timers} >= {"triage_warning", "triage_deadline"}


def test_reopened_twice_then_the_supervisor_closes(scenario) -> None:  # type: ignore[no-untyped-def]
    run = scenario().do("triage", "h1", solved_on_spot=False).do("contact_citizen", "h1", **CONTACTED)
    for _ in range(3):
        run.do("rectify", "h1", **REPORTED).do("return_visit", "h2", **VISIT_BAD)
    run.do("supervisor_decide", "supervisor", supervisor_decision="close", supervisor_opinion="已尽力整改")
    run.do("file_record", "lead", filing_summary="督办裁定办结")
    assert_consistent(run.replay())


def test_complex_case(scenario) -> None:  # type: ignore[no-untyped-def]
    run = scenario().do("triage", "h1", solved_on_spot=False).do("contact_citizen", "h1", **CONTACTED)
    run.do("rectify", "h1", action="complex").do("request_complex", "h1", complex_reason="需多部门协同")
    run.do("rectify", "h1", **REPORTED).do("return_visit", "h2", **VISIT_OK)
    assert_consistent(run.replay())


def test_appeal_rejected_then_recheck_upholds_it(scenario) -> None:  # type: ignore[no-untyped-def]
    run = scenario(real_name=False).do("triage", "h1", solved_on_spot=False)
    run.do("rectify", "h1", action="appeal").do("file_appeal", "h1", **APPEAL)
    run.do("decide_appeal", "v1", appeal_decision="rejected", decision_reason="证据不足")
    run.do("consider_recheck", "h1", request_recheck=True, recheck_reason="补充了监控录像")
    run.do("decide_recheck", "v2", recheck_decision="overturned", recheck_opinion="录像证明恶意")
    result = run.replay()
    assert_consistent(result)
    assert result.steps[-1].status == "completed"
    assert any("appeal" in step.marks for step in result.steps)  # the called process is shown too


def test_missed_deadlines_fire_and_replay_at_their_times(scenario) -> None:  # type: ignore[no-untyped-def]
    run = scenario().do("triage", "h1", solved_on_spot=False)
    assert run.sweep_at("2026-10-10T08:00:00") == 1  # the contact warning
    assert run.sweep_at("2026-10-11T08:00:00") == 1  # the contact deadline: escalated
    run.do("contact_citizen", "h1", **CONTACTED)
    result = run.replay()
    assert_consistent(result)
    assert [s.kind for s in result.steps] == ["start", "task", "timer", "timer", "task"]


def test_timers_due_together_fire_together(scenario) -> None:  # type: ignore[no-untyped-def]
    run = scenario().do("triage", "h1", solved_on_spot=False)
    assert run.sweep_at("2026-10-12T08:00:00") == 2  # warning and deadline both overdue by then
    result = run.replay()
    assert_consistent(result)
    assert [s.kind for s in result.steps] == ["start", "task", "timer"]


def test_a_calendar_change_replays_with_the_data_of_each_day(scenario, session: Session,
                                                              clock: ManualClock) -> None:  # type: ignore[no-untyped-def]
    run = scenario().do("triage", "h1", solved_on_spot=False)
    shipped = (Path(calendars.__file__).parent / "data" / "2026.toml").read_text(encoding="utf-8")
    amended = shipped.replace("workdays = [2026-09-20, 2026-10-10]", "workdays = [2026-09-20]")
    clock.advance(timedelta(hours=1))
    calendar_years.load_year(session, amended.encode(), "2026-amended.toml", "admin", clock.now())
    session.commit()
    clock.advance(timedelta(minutes=1))
    recompute_open_deadlines(session)
    session.commit()
    run.do("contact_citizen", "h1", **CONTACTED)
    try:
        result = run.replay()
        assert_consistent(result)
        assert "calendar" in [s.kind for s in result.steps]
    finally:
        calendar_years.reset_calendar()


def test_an_altered_input_is_found_at_its_step(scenario, session: Session) -> None:  # type: ignore[no-untyped-def]
    run = scenario(real_name=False).do("triage", "h1", solved_on_spot=False)
    run.do("rectify", "h1", **REPORTED)
    # Someone with database access rewrites the triage form to say "solved on the spot".
    session.execute(text("DROP TRIGGER case_event_no_update") if session.get_bind().dialect.name == "sqlite"
                    else text("ALTER TABLE case_event DISABLE TRIGGER case_event_no_change"))
    triage = session.scalar(select(CaseEvent).where(CaseEvent.case_id == run.case.id,
                                                    CaseEvent.event == "task_completed"))
    values = {**triage.data["values"], "solved_on_spot": True, "on_spot_measures": "当场解决"}
    session.execute(text("UPDATE case_event SET data = :data WHERE id = :id"),
                    {"data": json.dumps({**triage.data, "values": values}), "id": triage.id})
    result = run.replay()
    assert not result.consistent
    assert result.first_difference.number == 2 and "记录为" in result.first_difference.difference


def test_hcp_replay_verify(app, scenario) -> None:  # type: ignore[no-untyped-def]
    run = scenario().do("triage", "h1", solved_on_spot=False)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["replay", run.case.case_no, "--verify"])
    assert result.exit_code == 0, result.output
    assert f"{run.case.case_no}：一致" in result.output
    listing = runner.invoke(args=["replay", run.case.case_no])
    assert " 2. " in listing.output and "待办：联系群众" in listing.output
    assert runner.invoke(args=["replay", "CP-NONE", "--verify"]).exit_code == 2


def test_timers_already_due_when_the_engine_runs_fire_and_are_recorded(
        session: Session, district: District, clock: ManualClock) -> None:
    """A case opened long after its rating was received, and a task completed after its
    deadline with no sweep in between: SpiffWorkflow fires those timers inside the step;
    they are recorded as fired (never as cancelled), the case is marked overdue and
    escalated, and the replay reproduces it."""
    from workflows.tables import Timer

    rating = bad_rating(session, district, clock)
    clock.set(beijing("2026-10-20T10:00:00"))  # received 09-30: the triage deadline (10-10) has passed
    case = open_case(session, rating)
    session.commit()
    fired = session.scalars(select(Timer).where(Timer.instance_id == case.instance_id,
                                                Timer.status == "fired")).all()
    assert {t.bpmn_id for t in fired} == {"triage_warning", "triage_deadline"}
    assert case.overdue
    kinds = [e.event for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                                               .order_by(CaseEvent.seq))]
    assert {"deadline_warned", "deadline_missed", "case_escalated"} <= set(kinds)
    work(session, case, "triage", district.h1, solved_on_spot=False)  # contact clock also passed
    session.expire_all()
    statuses = dict(session.execute(select(Timer.bpmn_id, Timer.status).where(
        Timer.instance_id == case.instance_id, Timer.bpmn_id.like("contact%"))).all())
    assert statuses == {"contact_warning": "fired", "contact_deadline": "fired"}
    assert "cancelled" not in set(session.scalars(select(Timer.status).where(Timer.instance_id == case.instance_id)))
    result = replay_case(session, session.get(Case, case.id))
    assert_consistent(result)
    assert ("timer_fired", "triage_deadline") in result.steps[0].replayed
