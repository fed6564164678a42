"""The shipped process models (bpmn/bad_review.bpmn, appeal.bpmn, recheck.bpmn) run on
SpiffWorkflow 3.2 with the real restricted script engine and a manual engine clock.

Every path of DESIGN.md §5 is walked (R5–R10), asserting at each step which user tasks are
open, in which lane (role), with which form and stage, the process data, the waiting timers
and the outcome; ``test_the_paths_walk_every_node_and_flow`` proves that together they pass
every flow node and sequence flow of the three files. The second half checks the files
statically: the contract of bpmn/README.md and a diagram bpmn-js can render.

Dates: 2026-03-02 is a Monday with no holiday in the following three weeks, so working day
n after it is plain weekday counting (day 5 = Mon 03-09, day 15 = Mon 03-23). National Day
2026: 10-01..10-07 off, Thu 10-08 and Fri 10-09 working, Sat 10-10 a make-up working day.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from SpiffWorkflow.util.task import TaskState

from workflows.scripting import check_expression, check_script

from .process_harness import (NS, BPMN_FILES, CaseStarter, ProcessRun, documents, flow_nodes, forms,
                              parsed, starter)

HANDLER, LEAD, VERIFIER, SUPERVISOR = "部门经办人", "部门负责人", "审核员", "效能监督员"

# bpmn id -> (lane, form, stage): every user task of the three files (bpmn/README.md)
USER_TASKS = {
    "triage": (HANDLER, "on_spot_record", "on_spot"),
    "contact_citizen": (HANDLER, "contact_record", "contact"),
    "rectify": (HANDLER, "rectification_report", "rectification"),
    "request_complex": (HANDLER, "complexity_request", "rectification"),
    "return_visit": (HANDLER, "return_visit", "return_visit"),
    "supervisor_decide": (SUPERVISOR, "supervisor_decision", "supervisor_decision"),
    "file_record": (LEAD, "filing", "filing"),
    "file_appeal": (HANDLER, "appeal", "appeal"),
    "decide_appeal": (VERIFIER, "appeal_decision", "appeal"),
    "consider_recheck": (HANDLER, "recheck_request", "appeal"),
    "decide_recheck": (VERIFIER, "recheck_decision", "recheck"),
}

RECEIVED = "2026-03-02T10:00:00+08:00"  # Monday
DAY5_WARNING, DAY5_DEADLINE = "2026-03-06T23:59:59+08:00", "2026-03-09T23:59:59+08:00"
DAY15_WARNING, DAY15_DEADLINE = "2026-03-20T23:59:59+08:00", "2026-03-23T23:59:59+08:00"


@pytest.fixture
def start() -> Iterator[CaseStarter]:
    yield from starter()


# -- steps ---------------------------------------------------------------------------------
def expect_ready(run: ProcessRun, *ids: str) -> None:
    """Exactly ``ids`` are READY, each in its lane with its form and stage."""
    assert run.ready() == sorted(ids)
    for bpmn_id in ids:
        spec = run.task(bpmn_id).task_spec
        lane, form, stage = USER_TASKS[bpmn_id]
        assert spec.lane == lane, bpmn_id
        assert spec.extensions["properties"] == {"form": form, "stage": stage}, bpmn_id


def step(run: ProcessRun, bpmn_id: str, **fields: Any) -> None:
    expect_ready(run, bpmn_id)
    run.complete(bpmn_id, **fields)


def triage(run: ProcessRun, solved: bool) -> None:
    step(run, "triage", solved_on_spot=solved, on_spot_measures="当场补正材料" if solved else None)


def contact(run: ProcessRun, problem: bool, when: str = "2026-03-03T09:00:00+08:00") -> None:
    step(run, "contact_citizen", contacted=True, contact_method="phone", contacted_at=when,
         citizen_request="希望缩短办理时间", problem_exists=problem,
         explanation=None if problem else "已向群众解释办理时限的法定依据")


def report(run: ProcessRun) -> None:
    step(run, "rectify", action="report", measures="优化窗口排班", result="已整改完毕")


def visit(run: ProcessRun, satisfied: bool, visited: bool = True) -> None:
    step(run, "return_visit", visited=visited, visit_method="phone", citizen_satisfied=satisfied,
         citizen_opinion=None if satisfied else "仍不满意")


def file_record(run: ProcessRun, outcome: str) -> None:
    step(run, "file_record", filing_summary="整改情况已备案")
    assert run.workflow.is_completed()
    assert run.data()["outcome"] == outcome
    assert run.waiting_timers() == {}


def appeal(run: ProcessRun) -> None:
    """From an open ``rectify``: the handler appeals; the rectification clock stops."""
    step(run, "rectify", action="appeal")
    expect_ready(run, "file_appeal")
    assert run.waiting_timers() == {}  # the rectify timers ended with the rectification stage
    step(run, "file_appeal", appeal_reason="mistaken", appeal_explanation="评价人误选了办件",
         evidence_note="窗口录像")
    expect_ready(run, "decide_appeal")


PATHS: list[Callable[[CaseStarter], None]] = []


def path(test: Callable[[CaseStarter], None]) -> Callable[[CaseStarter], None]:
    """A path test; also run by ``test_the_paths_walk_every_node_and_flow``."""
    PATHS.append(test)
    return test


# -- R6: solved on the spot ----------------------------------------------------------------
@path
def test_anonymous_rating_solved_on_the_spot_goes_straight_to_filing(start: CaseStarter) -> None:
    run = start(real_name=False)
    expect_ready(run, "triage")
    data = run.data()
    assert (data["contact_from"], data["rectify_from"], data["rectify_days"]) == (RECEIVED, RECEIVED, 5)
    assert (data["is_complex"], data["reopen_count"], data["outcome"]) == (False, 0, None)
    # R7 counts from receipt: the contact clock runs while the case waits for its triage.
    assert run.waiting_timers() == {"triage_warning": "2026-03-04T23:59:59+08:00",
                                    "triage_deadline": "2026-03-05T23:59:59+08:00"}
    triage(run, solved=True)
    assert run.waiting_timers() == {}
    expect_ready(run, "file_record")
    assert run.data()["outcome"] == "resolved_on_spot"
    file_record(run, "resolved_on_spot")
    assert run.completed("contact_citizen") == run.completed("return_visit") == 0


@path
def test_an_untouched_case_is_warned_and_escalated_before_its_triage(start: CaseStarter) -> None:
    """Nobody handles the case: the contact clock, counted from receipt (R7), warns and then
    escalates while triage is still open, and the case goes on."""
    run = start(real_name=False)
    run.move_clock("2026-03-05T08:00:00+08:00")  # past the warning (03-04 23:59:59)
    assert run.completed("triage_warning_end") == 1 and run.completed("triage_deadline_end") == 0
    run.move_clock("2026-03-06T08:00:00+08:00")  # past the deadline (03-05 23:59:59)
    assert run.completed("triage_deadline_end") == 1
    expect_ready(run, "triage")
    triage(run, solved=True)
    file_record(run, "resolved_on_spot")


@path
def test_real_name_rating_solved_on_the_spot_gets_a_return_visit(start: CaseStarter) -> None:
    run = start(real_name=True)
    triage(run, solved=True)
    expect_ready(run, "return_visit")  # R8: every real-name bad rating is visited
    assert run.data()["outcome"] == "resolved_on_spot"
    assert run.waiting_timers() == {}
    visit(run, satisfied=True)
    file_record(run, "resolved_on_spot")
    assert run.completed("contact_citizen") == 0


# -- R7/R8: contact, explanation, rectification ----------------------------------------------
@path
def test_real_name_contact_finds_no_problem_and_explains(start: CaseStarter) -> None:
    run = start(real_name=True)
    triage(run, solved=False)
    expect_ready(run, "contact_citizen")
    # 3 working days from Monday 03-02 (day 0): Thursday 03-05; the warning one day before
    assert run.waiting_timers() == {"contact_warning": "2026-03-04T23:59:59+08:00",
                                    "contact_deadline": "2026-03-05T23:59:59+08:00"}
    contact(run, problem=False)
    expect_ready(run, "return_visit")
    assert run.waiting_timers() == {}
    assert run.data()["outcome"] == "explained"
    assert run.data()["explanation"] == "已向群众解释办理时限的法定依据"
    visit(run, satisfied=True)
    file_record(run, "explained")
    assert run.completed("rectify") == 0


@path
def test_real_name_contact_then_rectification_report_then_return_visit(start: CaseStarter) -> None:
    run = start(real_name=True)
    triage(run, solved=False)
    contact(run, problem=True)
    expect_ready(run, "rectify")
    # the rectification clock counts from the day of receipt, not from the contact (R7)
    assert run.waiting_timers() == {"rectify_warning": DAY5_WARNING, "rectify_deadline": DAY5_DEADLINE}
    assert run.data()["citizen_request"] == "希望缩短办理时间"
    report(run)
    expect_ready(run, "return_visit")
    assert run.waiting_timers() == {}
    assert run.data()["outcome"] == "rectified"
    assert run.data()["measures"] == "优化窗口排班"
    visit(run, satisfied=True)
    file_record(run, "rectified")
    assert run.data()["reopen_count"] == 0


@path
def test_anonymous_rating_skips_contact_and_return_visit(start: CaseStarter) -> None:
    run = start(real_name=False)
    triage(run, solved=False)
    expect_ready(run, "rectify")
    assert run.waiting_timers() == {"rectify_warning": DAY5_WARNING, "rectify_deadline": DAY5_DEADLINE}
    report(run)
    expect_ready(run, "file_record")
    file_record(run, "rectified")
    assert run.completed("contact_citizen") == run.completed("return_visit") == 0


@path
def test_return_visit_that_does_not_reach_the_citizen_goes_to_filing(start: CaseStarter) -> None:
    run = start(real_name=True)
    triage(run, solved=False)
    contact(run, problem=True)
    report(run)
    visit(run, satisfied=False, visited=False)  # not reached: no reopening
    expect_ready(run, "file_record")
    file_record(run, "rectified")
    assert run.data()["reopen_count"] == 0


# -- complex case: 15 working days -----------------------------------------------------------
@path
def test_complex_case_moves_the_rectify_timers_from_day_5_to_day_15(start: CaseStarter) -> None:
    """SpiffWorkflow 3.2 computes a timer's due time once, when the timer starts waiting,
    from the *timer task's own data* and caches it (``event_value``). A boundary timer of an
    embedded subprocess holds the data the subprocess was entered with: a script inside the
    subprocess (``rectify_days = 15``) can never reach it, and neither can the engine's
    re-evaluation (workflows/engine.py evaluates the expression on that same task). So the
    model leaves the rectification stage after the complexity request (end event
    ``rectification_restart``) and enters it again; the new stage's timers start waiting with
    ``rectify_days = 15``, still counted from the day of receipt."""
    run = start(real_name=False)
    triage(run, solved=False)
    assert run.waiting_timers() == {"rectify_warning": DAY5_WARNING, "rectify_deadline": DAY5_DEADLINE}
    step(run, "rectify", action="complex")
    expect_ready(run, "request_complex")
    # the rectification clock keeps running while the request is written
    assert run.waiting_timers() == {"rectify_warning": DAY5_WARNING, "rectify_deadline": DAY5_DEADLINE}
    first_timers = {task.id for task in run.timer_tasks()}
    run.move_clock("2026-03-03T15:00:00+08:00")
    step(run, "request_complex", complex_reason="涉及多个部门协同，需调取历史档案")
    expect_ready(run, "rectify")
    data = run.data()
    assert (data["is_complex"], data["rectify_days"]) == (True, 15)
    assert data["complex_reason"] == "涉及多个部门协同，需调取历史档案"
    assert data["rectify_from"] == RECEIVED  # R7: 15 days from receipt, not from the request
    assert run.waiting_timers() == {"rectify_warning": DAY15_WARNING, "rectify_deadline": DAY15_DEADLINE}
    # new timer tasks (the first stage's ended with it); re-evaluation agrees, nothing to move
    assert first_timers.isdisjoint(task.id for task in run.timer_tasks())
    assert {task.id for task in run.timer_tasks(TaskState.CANCELLED)} >= first_timers
    assert run.reevaluated_timers() == run.waiting_timers()
    assert run.completed("rectification") == 1 and run.completed("rectification_restart") == 1
    # day 5 passes without a warning or an escalation
    run.move_clock("2026-03-10T09:00:00+08:00")
    assert run.completed("rectify_warning_end") == run.completed("rectify_deadline_end") == 0
    expect_ready(run, "rectify")
    report(run)
    file_record(run, "rectified")
    assert run.data()["is_complex"] is True


# -- R10: appeal and recheck -----------------------------------------------------------------
@path
def test_upheld_appeal_ends_the_case(start: CaseStarter) -> None:
    run = start(real_name=True)
    triage(run, solved=False)
    contact(run, problem=True)
    appeal(run)
    assert run.data()["rectify_days_left"] == 5  # appealed on the day of receipt
    step(run, "decide_appeal", appeal_decision="upheld", decision_reason="系误评")
    assert run.workflow.is_completed()
    data = run.data()
    assert (data["outcome"], data["appeal_upheld"]) == ("appeal_upheld", True)
    assert data["appeal_reason"] == "mistaken"
    assert run.completed("end_appeal_upheld") == 1
    assert run.completed("return_visit") == run.completed("file_record") == 0
    assert run.waiting_timers() == {}


@path
def test_rejected_appeal_resumes_the_rectify_clock_with_the_days_that_were_left(start: CaseStarter) -> None:
    run = start(real_name=False)
    triage(run, solved=False)
    assert run.waiting_timers()["rectify_deadline"] == DAY5_DEADLINE  # Monday 03-09
    run.move_clock("2026-03-04T10:00:00+08:00")  # Wednesday: Thu, Fri, Mon are left
    appeal(run)
    assert run.data()["rectify_days_left"] == 3
    # the verifier decides the next Tuesday: a weekend and the old deadline pass meanwhile
    run.move_clock("2026-03-10T10:00:00+08:00")
    expect_ready(run, "decide_appeal")
    assert run.completed("rectify_deadline_end") == 0  # the clock was paused: no escalation
    step(run, "decide_appeal", appeal_decision="rejected", decision_reason="证据不足")
    expect_ready(run, "consider_recheck")
    step(run, "consider_recheck", request_recheck=False)
    expect_ready(run, "rectify")
    data = run.data()
    assert data["appeal_upheld"] is False
    assert (data["rectify_from"], data["rectify_days"]) == ("2026-03-10T10:00:00+08:00", 3)
    # three working days after Tuesday 03-10: Friday 03-13
    assert run.waiting_timers() == {"rectify_warning": "2026-03-12T23:59:59+08:00",
                                    "rectify_deadline": "2026-03-13T23:59:59+08:00"}
    report(run)
    file_record(run, "rectified")


@path
def test_recheck_that_overturns_the_decision_upholds_the_appeal(start: CaseStarter) -> None:
    run = start(real_name=False)
    triage(run, solved=False)
    appeal(run)
    step(run, "decide_appeal", appeal_decision="rejected", decision_reason="证据不足")
    step(run, "consider_recheck", request_recheck=True, recheck_reason="补充了窗口录像")
    expect_ready(run, "decide_recheck")
    step(run, "decide_recheck", recheck_decision="overturned", recheck_opinion="录像证明系误评")
    assert run.workflow.is_completed()
    data = run.data()
    assert (data["outcome"], data["appeal_upheld"]) == ("appeal_upheld", True)
    assert (data["appeal_decision"], data["recheck_decision"]) == ("rejected", "overturned")


@path
def test_recheck_that_confirms_the_decision_returns_to_rectification(start: CaseStarter) -> None:
    run = start(real_name=True)
    triage(run, solved=False)
    contact(run, problem=True)
    run.move_clock("2026-03-05T10:00:00+08:00")  # Thursday: Fri and Mon are left
    appeal(run)
    step(run, "decide_appeal", appeal_decision="rejected", decision_reason="证据不足")
    step(run, "consider_recheck", request_recheck=True, recheck_reason="有新证据")
    run.move_clock("2026-03-09T16:00:00+08:00")
    step(run, "decide_recheck", recheck_decision="confirmed", recheck_opinion="维持")
    expect_ready(run, "rectify")
    data = run.data()
    assert data["appeal_upheld"] is False
    assert (data["rectify_from"], data["rectify_days"]) == ("2026-03-09T16:00:00+08:00", 2)
    assert run.waiting_timers() == {"rectify_warning": "2026-03-10T23:59:59+08:00",
                                    "rectify_deadline": "2026-03-11T23:59:59+08:00"}
    report(run)
    visit(run, satisfied=True)
    file_record(run, "rectified")
    assert run.completed("decide_recheck") == 1


# -- dissatisfied return visits: reopened at most twice, then the supervisor -----------------
def reopened(run: ProcessRun, count: int, moment: str, days: int) -> None:
    expect_ready(run, "rectify")
    data = run.data()
    assert (data["reopen_count"], data["rectify_from"], data["rectify_days"]) == (count, moment, days)


@path
def test_dissatisfied_twice_reopens_twice_then_the_supervisor_closes(start: CaseStarter) -> None:
    run = start(real_name=True)
    triage(run, solved=False)
    contact(run, problem=True)
    report(run)
    run.move_clock("2026-03-04T10:00:00+08:00")
    visit(run, satisfied=False)
    reopened(run, 1, "2026-03-04T10:00:00+08:00", 5)
    # a reopened rectification counts 5 working days from the reopening: Wednesday 03-11
    assert run.waiting_timers() == {"rectify_warning": "2026-03-10T23:59:59+08:00",
                                    "rectify_deadline": "2026-03-11T23:59:59+08:00"}
    report(run)
    run.move_clock("2026-03-05T10:00:00+08:00")
    visit(run, satisfied=False)
    reopened(run, 2, "2026-03-05T10:00:00+08:00", 5)
    report(run)
    visit(run, satisfied=False)
    expect_ready(run, "supervisor_decide")
    assert run.data()["reopen_count"] == 2
    assert run.waiting_timers() == {}
    step(run, "supervisor_decide", supervisor_decision="close", supervisor_opinion="已尽力整改，予以办结")
    expect_ready(run, "file_record")
    assert run.data()["outcome"] == "supervisor_closed"
    file_record(run, "supervisor_closed")
    assert run.completed("rectify") == 3 and run.completed("return_visit") == 3


@path
def test_supervisor_reopens_a_complex_case_for_another_15_days(start: CaseStarter) -> None:
    run = start(real_name=True)
    triage(run, solved=False)
    contact(run, problem=True)
    step(run, "rectify", action="complex")
    step(run, "request_complex", complex_reason="需多部门协同")
    report(run)
    visit(run, satisfied=False)
    reopened(run, 1, RECEIVED, 15)  # the reopening keeps the complex period
    report(run)
    visit(run, satisfied=False)
    reopened(run, 2, RECEIVED, 15)
    report(run)
    run.move_clock("2026-03-06T11:00:00+08:00")
    visit(run, satisfied=False)
    step(run, "supervisor_decide", supervisor_decision="reopen", supervisor_opinion="责令继续整改")
    reopened(run, 3, "2026-03-06T11:00:00+08:00", 15)
    assert run.waiting_timers()["rectify_deadline"] == "2026-03-27T23:59:59+08:00"
    report(run)
    visit(run, satisfied=False)  # after the second reopening every dissatisfied visit goes up
    step(run, "supervisor_decide", supervisor_decision="close", supervisor_opinion="予以办结")
    file_record(run, "supervisor_closed")
    assert run.completed("supervisor_decide") == 2


# -- timers across the National Day holiday ----------------------------------------------------
@path
def test_timers_follow_the_holiday_calendar_and_the_case_goes_on_after_they_fire(start: CaseStarter) -> None:
    run = start(real_name=True, received_at="2026-09-30T10:00:00+08:00")
    triage(run, solved=False)
    expect_ready(run, "contact_citizen")
    # day 1 Thu 10-08, day 2 Fri 10-09, day 3 Sat 10-10 (make-up working day)
    assert run.waiting_timers() == {"contact_warning": "2026-10-09T23:59:59+08:00",
                                    "contact_deadline": "2026-10-10T23:59:59+08:00"}
    for timer in run.timer_tasks():
        assert timer.task_spec.cancel_activity is False
    run.move_clock("2026-10-09T12:00:00+08:00")
    assert set(run.waiting_timers()) == {"contact_warning", "contact_deadline"}
    run.move_clock("2026-10-10T00:00:00+08:00")
    assert run.completed("contact_warning") == run.completed("contact_warning_end") == 1
    assert run.waiting_timers() == {"contact_deadline": "2026-10-10T23:59:59+08:00"}
    expect_ready(run, "contact_citizen")
    run.move_clock("2026-10-11T00:00:00+08:00")
    assert run.completed("contact_deadline") == run.completed("contact_deadline_end") == 1
    assert run.waiting_timers() == {}
    expect_ready(run, "contact_citizen")  # overdue, escalated, and still open
    contact(run, problem=True, when="2026-10-11T09:00:00+08:00")
    expect_ready(run, "rectify")
    # 5 working days from 09-30: 10-08, 10-09, 10-10, 10-12, 10-13
    assert run.waiting_timers() == {"rectify_warning": "2026-10-12T23:59:59+08:00",
                                    "rectify_deadline": "2026-10-13T23:59:59+08:00"}
    run.move_clock("2026-10-13T08:00:00+08:00")
    assert run.completed("rectify_warning_end") == 1
    assert run.waiting_timers() == {"rectify_deadline": "2026-10-13T23:59:59+08:00"}
    run.move_clock("2026-10-14T08:00:00+08:00")
    assert run.completed("rectify_deadline_end") == 1
    assert run.waiting_timers() == {}
    expect_ready(run, "rectify")
    report(run)
    visit(run, satisfied=True)
    file_record(run, "rectified")
    assert run.completed("contact_deadline_end") == 1  # each timer fired exactly once


@path
def test_completing_the_contact_ends_its_timers(start: CaseStarter) -> None:
    run = start(real_name=True)
    triage(run, solved=False)
    contact_timers = {task.id for task in run.timer_tasks()}
    contact(run, problem=True)
    cancelled = run.timer_tasks(TaskState.CANCELLED)
    assert contact_timers <= {task.id for task in cancelled}
    assert {task.task_spec.bpmn_id for task in cancelled} == {"triage_warning", "triage_deadline",
                                                              "contact_warning", "contact_deadline"}
    assert set(run.waiting_timers()) == {"rectify_warning", "rectify_deadline"}
    run.move_clock("2026-03-06T08:00:00+08:00")  # past both contact due times
    assert run.completed("contact_warning_end") == run.completed("contact_deadline_end") == 0
    report(run)
    assert run.waiting_timers() == {}
    run.move_clock("2026-03-10T08:00:00+08:00")  # past both rectify due times
    assert run.completed("rectify_warning_end") == run.completed("rectify_deadline_end") == 0
    visit(run, satisfied=True)
    file_record(run, "rectified")


@path
def test_an_instance_survives_serialization_at_every_kind_of_wait(start: CaseStarter) -> None:
    """The engine stores instances between steps: waiting boundary timers, an embedded
    subprocess and a call activity inside a call activity all load back and go on."""
    run = start(real_name=True)
    triage(run, solved=False)
    timers = run.waiting_timers()
    run.reload()
    assert run.waiting_timers() == timers
    run.move_clock("2026-03-05T08:00:00+08:00")  # the contact warning fires after the reload
    assert run.completed("contact_warning_end") == 1
    contact(run, problem=True)
    run.reload()
    assert run.waiting_timers() == {"rectify_warning": DAY5_WARNING, "rectify_deadline": DAY5_DEADLINE}
    appeal(run)
    step(run, "decide_appeal", appeal_decision="rejected", decision_reason="证据不足")
    step(run, "consider_recheck", request_recheck=True, recheck_reason="有新证据")
    run.reload()  # bad_review -> appeal -> recheck
    step(run, "decide_recheck", recheck_decision="overturned", recheck_opinion="撤销")
    assert run.workflow.is_completed()
    assert run.data()["outcome"] == "appeal_upheld"


# -- all paths together ------------------------------------------------------------------------
def test_the_paths_walk_every_node_and_flow() -> None:
    visited: set[str] = set()
    taken: set[tuple[str, str]] = set()
    for walk in PATHS:
        for case in starter():
            walk(case)
            for run in case.runs:
                visited |= run.visited_nodes()
                taken |= run.taken_flows()
    nodes, flows = set(), set()
    for _, tree in documents():
        nodes |= {node.get("id") for node in flow_nodes(tree)}
        flows |= {(flow.get("sourceRef"), flow.get("targetRef"))
                  for flow in tree.iterfind(".//bpmn:sequenceFlow", NS)}
    assert nodes - visited == set()
    assert flows - taken == set()


# ==============================================================================================
# The files themselves
# ==============================================================================================
def test_the_three_files_parse_and_bad_review_finds_its_call_activities() -> None:
    spec, subprocesses = parsed("bad_review")
    assert spec.name == "bad_review"
    assert {"appeal", "recheck", "rectification"} <= set(subprocesses)
    assert spec.task_specs["appeal"].spec == "appeal"
    assert subprocesses["appeal"].task_specs["recheck"].spec == "recheck"
    for _, tree in documents():
        for process in tree.iterfind("bpmn:process", NS):
            assert process.get("isExecutable") == "true"


def all_task_specs() -> Iterator[Any]:
    spec, subprocesses = parsed("bad_review")
    for process in (spec, *subprocesses.values()):
        yield from process.task_specs.values()


def test_user_tasks_have_their_lane_form_and_stage() -> None:
    user_tasks = {ts.bpmn_id: ts for ts in all_task_specs() if type(ts).__name__ == "UserTask"}
    assert set(user_tasks) == set(USER_TASKS)
    for bpmn_id, (lane, form, stage) in USER_TASKS.items():
        assert user_tasks[bpmn_id].lane == lane
        assert user_tasks[bpmn_id].extensions["properties"] == {"form": form, "stage": stage}
        assert form in forms()


def test_timer_events_are_non_interrupting_and_declare_kind_and_clock() -> None:
    expected = {
        "triage_warning": ("triage", "warning", "triage", "warning_before(deadline(contact_from, 3))"),
        "triage_deadline": ("triage", "deadline", "triage", "deadline(contact_from, 3)"),
        "contact_warning": ("contact_citizen", "warning", "contact", "warning_before(deadline(contact_from, 3))"),
        "contact_deadline": ("contact_citizen", "deadline", "contact", "deadline(contact_from, 3)"),
        "rectify_warning": ("rectification", "warning", "rectify",
                            "warning_before(deadline(rectify_from, rectify_days))"),
        "rectify_deadline": ("rectification", "deadline", "rectify", "deadline(rectify_from, rectify_days)"),
    }
    timers = {ts.bpmn_id: ts for ts in all_task_specs()
              if type(getattr(ts, "event_definition", None)).__name__ == "TimeDateEventDefinition"}
    assert set(timers) == set(expected)
    for bpmn_id, (host, kind, clock, expression) in expected.items():
        ts = timers[bpmn_id]
        assert ts.cancel_activity is False
        assert ts.extensions["properties"] == {"timerKind": kind, "clock": clock}
        assert ts.event_definition.expression == expression
        assert "now(" not in expression
        # each timer branch ends in an end event of its own
        [end] = [spec for spec in ts.outputs if spec.bpmn_id is not None]  # besides the engine's join
        assert type(end).__name__ == "EndEvent"
    attached = {node.get("id"): node.get("attachedToRef")
                for _, tree in documents() for node in tree.iterfind(".//bpmn:boundaryEvent", NS)}
    assert attached == {bpmn_id: host for bpmn_id, (host, *_) in expected.items()}


# variables a condition or script may read: bpmn/README.md (start data, process variables)
# plus every form field (form values become process variables)
CONTRACT_VARIABLES = {
    "case_no", "department_id", "real_name", "level", "received_at", "contact_from", "rectify_from",
    "rectify_days", "rectify_days_left", "is_complex", "complex_reason", "reopen_count",
    "appeal_upheld", "outcome"}


def known_names() -> set[str]:
    return CONTRACT_VARIABLES | {name for form in forms().values() for name in form.field_names}


def test_conditions_and_scripts_use_only_contract_variables_and_helpers() -> None:
    known = known_names()
    checked = 0
    for name, tree in documents():
        for condition in tree.iterfind(".//bpmn:conditionExpression", NS):
            assert check_expression(condition.text, known) == [], (name, condition.text)
            checked += 1
        for timer in tree.iterfind(".//bpmn:timeDate", NS):
            assert check_expression(timer.text, known) == [], (name, timer.text)
            assert "now(" not in timer.text
            checked += 1
        for script in tree.iterfind(".//bpmn:scriptTask/bpmn:script", NS):
            assert check_script(script.text, known) == [], (name, script.text)
            checked += 1
    assert checked > 30


def test_exclusive_gateways_condition_every_outgoing_flow() -> None:
    for name, tree in documents():
        flows = {flow.get("id"): flow for flow in tree.iterfind(".//bpmn:sequenceFlow", NS)}
        for gateway in tree.iterfind(".//bpmn:exclusiveGateway", NS):
            outgoing = [flow for flow in flows.values() if flow.get("sourceRef") == gateway.get("id")]
            default = gateway.get("default")
            if len(outgoing) == 1:  # a merge
                assert outgoing[0].find("bpmn:conditionExpression", NS) is None
                continue
            for flow in outgoing:
                condition = flow.find("bpmn:conditionExpression", NS)
                if flow.get("id") == default:
                    assert condition is None, f"{name}: default flow {default} has a condition"
                else:
                    assert condition is not None and condition.text.strip(), (name, flow.get("id"))
                assert flow.get("name"), f"{name}: {flow.get('id')} has no label"


CJK = re.compile(r"[\u4e00-\u9fff]")
ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def test_every_element_has_a_chinese_name_and_an_english_id() -> None:
    for name, tree in documents():
        elements = [*flow_nodes(tree), *tree.iterfind(".//bpmn:lane", NS),
                    *tree.iterfind(".//bpmn:participant", NS), *tree.iterfind("bpmn:process", NS)]
        for element in elements:
            assert ID.match(element.get("id")), (name, element.get("id"))
            assert CJK.search(element.get("name") or ""), f"{name}: {element.get('id')} needs a Chinese name"
        lanes = {lane.get("name") for lane in tree.iterfind(".//bpmn:lane", NS)}
        assert lanes <= {HANDLER, LEAD, VERIFIER, SUPERVISOR}
        assert len(tree.findall(".//bpmn:laneSet", NS)) == 1
        assert len(tree.findall(".//bpmn:participant", NS)) == 1


# -- diagram interchange -------------------------------------------------------------------------
Box = tuple[float, float, float, float]


def bounds(shape: Any) -> Box:
    b = shape.find("dc:Bounds", NS)
    return tuple(float(b.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def inside(inner: Box, outer: Box) -> bool:
    return (outer[0] <= inner[0] and inner[0] + inner[2] <= outer[0] + outer[2]
            and outer[1] <= inner[1] and inner[1] + inner[3] <= outer[1] + outer[3])


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def on_border(point: tuple[float, float], box: Box) -> bool:
    x, y = point
    within_x = box[0] <= x <= box[0] + box[2]
    within_y = box[1] <= y <= box[1] + box[3]
    return (within_x and y in (box[1], box[1] + box[3])) or (within_y and x in (box[0], box[0] + box[2]))


@pytest.mark.parametrize("filename", BPMN_FILES)
def test_every_node_lane_participant_and_flow_has_exactly_one_shape_or_edge(filename: str) -> None:
    tree = dict(documents())[filename]
    ids = {element.get("id") for element in tree.iter() if element.get("id")}
    shapes = [shape.get("bpmnElement") for shape in tree.iterfind(".//bpmndi:BPMNShape", NS)]
    edges = [edge.get("bpmnElement") for edge in tree.iterfind(".//bpmndi:BPMNEdge", NS)]
    assert set(shapes) | set(edges) <= ids  # every DI element points at something
    needs_shape = [node.get("id") for node in flow_nodes(tree)]
    needs_shape += [e.get("id") for e in tree.iterfind(".//bpmn:lane", NS)]
    needs_shape += [e.get("id") for e in tree.iterfind(".//bpmn:participant", NS)]
    assert sorted(shapes) == sorted(needs_shape)
    assert sorted(edges) == sorted(flow.get("id") for flow in tree.iterfind(".//bpmn:sequenceFlow", NS))
    plane = tree.find(".//bpmndi:BPMNPlane", NS)
    assert plane.get("bpmnElement") == tree.find("bpmn:collaboration", NS).get("id")


@pytest.mark.parametrize("filename", BPMN_FILES)
def test_shapes_lie_in_their_lanes_and_do_not_overlap(filename: str) -> None:
    tree = dict(documents())[filename]
    box = {shape.get("bpmnElement"): bounds(shape) for shape in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    [participant] = tree.iterfind(".//bpmn:participant", NS)
    lane_of: dict[str, str] = {}
    for lane in tree.iterfind(".//bpmn:lane", NS):
        assert inside(box[lane.get("id")], box[participant.get("id")])
        for ref in lane.iterfind("bpmn:flowNodeRef", NS):
            assert ref.text not in lane_of, f"{ref.text} in two lanes"
            lane_of[ref.text] = lane.get("id")
    nodes = flow_nodes(tree)
    container = {node.get("id"): node.getparent().get("id") for node in nodes
                 if node.getparent().tag == f"{{{NS['bpmn']}}}subProcess"}
    host = {node.get("id"): node.get("attachedToRef") for node in nodes if node.get("attachedToRef")}
    for node in nodes:
        node_id = node.get("id")
        if node_id in container:
            assert inside(box[node_id], box[container[node_id]]), f"{node_id} outside its subprocess"
            assert node_id not in lane_of  # lanes list the top-level nodes; the inside inherits
        else:
            assert node_id in lane_of, f"{node_id} is in no lane"
            assert inside(box[node_id], box[lane_of[node_id]]), f"{node_id} outside its lane"
    for node_id, host_id in host.items():  # boundary events sit on their host's bottom edge
        x, y, w, h = box[node_id]
        hx, hy, hw, hh = box[host_id]
        assert y + h / 2 == hy + hh and hx < x + w / 2 < hx + hw, node_id
    ids = [node.get("id") for node in nodes]
    for i, a in enumerate(ids):
        for b in ids[i + 1:]:
            related = (container.get(a) == b or container.get(b) == a
                       or host.get(a) == b or host.get(b) == a)
            assert related or not overlap(box[a], box[b]), f"{a} overlaps {b}"


@pytest.mark.parametrize("filename", BPMN_FILES)
def test_edges_are_orthogonal_and_join_their_shapes(filename: str) -> None:
    tree = dict(documents())[filename]
    box = {shape.get("bpmnElement"): bounds(shape) for shape in tree.iterfind(".//bpmndi:BPMNShape", NS)}
    flows = {flow.get("id"): flow for flow in tree.iterfind(".//bpmn:sequenceFlow", NS)}
    for edge in tree.iterfind(".//bpmndi:BPMNEdge", NS):
        points = [(float(p.get("x")), float(p.get("y"))) for p in edge.iterfind("di:waypoint", NS)]
        assert len(points) >= 2
        for (x1, y1), (x2, y2) in zip(points, points[1:]):
            assert x1 == x2 or y1 == y2, f"{edge.get('bpmnElement')} has a diagonal segment"
        flow = flows[edge.get("bpmnElement")]
        assert on_border(points[0], box[flow.get("sourceRef")]), flow.get("id")
        assert on_border(points[-1], box[flow.get("targetRef")]), flow.get("id")
