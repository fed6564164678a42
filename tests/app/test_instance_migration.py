"""Moving running cases to a new version (issue 7): which can move (nothing they completed or
started changed), each move in its own transaction with its timers and a history event."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Case, CaseEvent, Role
from app.services import calendar_years, case_tasks
from app.services.cases import open_case
from app.services.engine_runtime import SPECS, make_engine
from app.services.instance_migration import MoveRefused, move, move_all, plan
from app.services.process_deploy import deploy
from app.services.process_drafts import open_draft, review, save_draft, submit
from workflows.clock import ManualClock
from workflows.sweep import sweep_instance
from workflows.tables import ERRORED, Deployment, HumanTask, ProcessInstance, Timer

from . import factories
from .test_cases import CONTACTED, REPORTED, District, bad_rating, beijing, open_task, work

TRIAGE_DEADLINE = "<bpmn:timeDate xsi:type=\"bpmn:tFormalExpression\">deadline(contact_from, 3)</bpmn:timeDate>\n" \
                  "      </bpmn:timerEventDefinition>\n    </bpmn:boundaryEvent>\n    <bpmn:boundaryEvent id=\"contact_warning\""


@pytest.fixture(autouse=True)
def fresh_specs() -> Iterator[None]:
    SPECS.clear()
    yield
    SPECS.clear()


@pytest.fixture
def district(session: Session, clock: ManualClock) -> District:
    calendar_years.reset_calendar()
    district = District(session)
    district.ann = factories.user(session, "designer.ann", [Role.DESIGNER])  # type: ignore[attr-defined]
    district.cat = factories.user(session, "designer.cat", [Role.DESIGNER])  # type: ignore[attr-defined]
    return district


def new_version(session: Session, district: District, *changes: tuple[str, str]) -> Deployment:
    """Version 2: bad_review.bpmn with each (old, new) text replaced once, deployed with approval."""
    draft = open_draft(session, district.ann, "bad_review.bpmn")  # type: ignore[attr-defined]
    xml = draft.bpmn_xml
    for old, new in changes:
        assert xml.count(old) >= 1, old
        xml = xml.replace(old, new, 1)
    problems = save_draft(session, draft, district.ann, xml, draft.revision)  # type: ignore[attr-defined]
    assert problems == []
    submit(session, draft, district.ann, draft.revision)  # type: ignore[attr-defined]
    review(session, draft, district.cat, True, "同意", draft.revision)  # type: ignore[attr-defined]
    version = deploy(session, draft, district.ann, draft.revision)  # type: ignore[attr-defined]
    session.commit()
    return version


def a_case(session: Session, district: District, clock: ManualClock) -> Case:
    case = open_case(session, bad_rating(session, district, clock))
    session.commit()
    return case


def timer(session: Session, case: Case, bpmn_id: str) -> Timer:
    return session.scalars(select(Timer).where(Timer.instance_id == case.instance_id, Timer.bpmn_id == bpmn_id,
                                               Timer.status == "waiting")).one()


LONGER_TRIAGE = ('deadline(contact_from, 3)</bpmn:timeDate>', 'deadline(contact_from, 4)</bpmn:timeDate>')


def test_a_waiting_instance_moves_with_its_timers(session: Session, district: District, clock: ManualClock) -> None:
    case = a_case(session, district, clock)
    task = open_task(session, case)
    before = timer(session, case, "triage_deadline")
    assert before.due_at == beijing("2026-10-10T23:59:59")
    # Version 2 gives the first handling 4 working days and renames the task.
    v2 = new_version(session, district, LONGER_TRIAGE, ('name="初步处置">', 'name="初步处置（首次联系）">'))
    [candidate] = plan(session, v2).candidates
    assert (candidate.case_no, candidate.from_version, candidate.movable) == (case.case_no, 1, True)
    move(session, case.instance_id, v2, district.ann)  # type: ignore[attr-defined]
    session.commit()
    instance = session.get(ProcessInstance, case.instance_id)
    assert instance.deployment.version == 2
    moved = timer(session, case, "triage_deadline")
    assert moved.id == before.id and moved.due_at == beijing("2026-10-12T23:59:59")
    recomputed = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                         CaseEvent.event == "deadline_recomputed")).one()
    assert recomputed.data["timer"] == "triage_deadline" and recomputed.data["new"] == moved.due_at.isoformat()
    task_now = open_task(session, case)
    assert task_now.id == task.id and task_now.name == "初步处置（首次联系）"
    event = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id,
                                                    CaseEvent.event == "instance_migrated")).one()
    assert event.data == {"instance_id": instance.id, "process": "bad_review", "from_version": 1, "to_version": 2,
                          "deployment_id": instance.deployment_id}
    assert event.actor == "designer.ann"
    # It runs on the new version from now on.
    work(session, case, "triage", district.h1, solved_on_spot=False)
    assert open_task(session, case).bpmn_id == "contact_citizen"
    assert plan(session, v2).candidates == []


def test_an_instance_that_completed_a_changed_task_cannot_move(session: Session, district: District,
                                                                clock: ManualClock) -> None:
    waiting = a_case(session, district, clock)
    past = a_case(session, district, clock)
    work(session, past, "triage", district.h1, solved_on_spot=False)
    v2 = new_version(session, district, ('value="on_spot_record" />\n          <spiffworkflow:property name="stage" '
                                         'value="on_spot" />', 'value="contact_record" />\n          '
                                         '<spiffworkflow:property name="stage" value="on_spot" />'))
    result = {c.case_no: c.reasons for c in plan(session, v2).candidates}
    assert result[waiting.case_no] == []
    assert result[past.case_no] == ["已办理的“初步处置”在新版本中有改动（扩展属性（表单、阶段、定时器类型））"]
    with pytest.raises(MoveRefused) as refused:
        move(session, past.instance_id, v2, district.ann)  # type: ignore[attr-defined]
    assert refused.value.reasons == result[past.case_no]
    session.rollback()
    assert session.get(ProcessInstance, past.instance_id).deployment.version == 1


def test_a_new_name_of_a_completed_task_does_not_block(session: Session, district: District,
                                                       clock: ManualClock) -> None:
    case = a_case(session, district, clock)
    work(session, case, "triage", district.h1, solved_on_spot=False)
    v2 = new_version(session, district, ('name="初步处置">', 'name="首次处置">'))
    [candidate] = plan(session, v2).candidates
    assert candidate.movable
    move(session, case.instance_id, v2, district.ann)  # type: ignore[attr-defined]
    session.commit()
    assert open_task(session, case).bpmn_id == "contact_citizen"
    assert session.get(ProcessInstance, case.instance_id).deployment.version == 2


def test_move_all_moves_each_movable_instance_in_its_own_transaction(session: Session, district: District,
                                                                     clock: ManualClock) -> None:
    first, second = a_case(session, district, clock), a_case(session, district, clock)
    errored = a_case(session, district, clock)
    make_engine(session).mark_errored(errored.instance_id, "RuntimeError: test")
    session.commit()
    v2 = new_version(session, district, LONGER_TRIAGE)
    result = move_all(session, v2, district.ann)  # type: ignore[attr-defined]
    assert sorted(result.moved) == sorted([first.case_no, second.case_no])
    assert result.refused == {errored.case_no: ["实例出错，等待管理员处理后才能迁移"]}
    versions = dict(session.execute(select(ProcessInstance.id, Deployment.version).join(Deployment)).all())
    assert versions[first.instance_id] == versions[second.instance_id] == 2
    assert session.get(ProcessInstance, errored.instance_id).status == ERRORED and versions[errored.instance_id] == 1


def test_an_instance_already_on_the_version_is_refused(session: Session, district: District,
                                                       clock: ManualClock) -> None:
    v2 = new_version(session, district, LONGER_TRIAGE)
    case = a_case(session, district, clock)
    with pytest.raises(MoveRefused, match="已在版本 2 上"):
        move(session, case.instance_id, v2, district.ann)  # type: ignore[attr-defined]
    with pytest.raises(MoveRefused, match="实例不存在"):
        move(session, 999_999, v2, district.ann)  # type: ignore[attr-defined]


def test_open_task_rows_follow_the_new_version(session: Session, district: District, clock: ManualClock) -> None:
    case = a_case(session, district, clock)
    work(session, case, "triage", district.h1, solved_on_spot=False)
    v2 = new_version(session, district, ('name="联系群众">', 'name="电话联系群众">'))
    move(session, case.instance_id, v2, district.ann)  # type: ignore[attr-defined]
    session.commit()
    task = session.scalars(select(HumanTask).where(HumanTask.instance_id == case.instance_id,
                                                   HumanTask.status == "ready")).one()
    assert (task.bpmn_id, task.name, task.form, task.role) == ("contact_citizen", "电话联系群众", "contact_record",
                                                                "handler")


def test_instances_inside_a_subprocess_and_a_call_activity_move(session: Session, district: District,
                                                                clock: ManualClock) -> None:
    rectifying = a_case(session, district, clock)
    work(session, rectifying, "triage", district.h1, solved_on_spot=False)
    work(session, rectifying, "contact_citizen", district.h1, **CONTACTED)
    appealing = a_case(session, district, clock)
    work(session, appealing, "triage", district.h1, solved_on_spot=False)
    work(session, appealing, "contact_citizen", district.h1, **CONTACTED)
    work(session, appealing, "rectify", district.h1, action="appeal")
    assert open_task(session, appealing).bpmn_id == "file_appeal"
    v2 = new_version(session, district, ('name="整改处置">', 'name="整改并反馈">'))
    assert all(c.movable for c in plan(session, v2).candidates)
    result = move_all(session, v2, district.ann)  # type: ignore[attr-defined]
    assert sorted(result.moved) == sorted([rectifying.case_no, appealing.case_no]) and not result.refused
    assert open_task(session, rectifying).name == "整改并反馈"
    work(session, rectifying, "rectify", district.h1, **REPORTED)
    assert open_task(session, rectifying).bpmn_id == "return_visit"
    work(session, appealing, "file_appeal", district.h1, appeal_reason="malicious",
         appeal_explanation="评价人与办件无关，系恶意差评", evidence_note="窗口监控记录")
    assert open_task(session, appealing).bpmn_id == "decide_appeal"


def test_a_task_moved_to_another_lane_is_offered_afresh(session: Session, district: District,
                                                        clock: ManualClock) -> None:
    case = a_case(session, district, clock)
    task = open_task(session, case)
    case_tasks.claim(session, task.id, district.h1)
    session.commit()
    v2 = new_version(session, district, ("<bpmn:flowNodeRef>triage</bpmn:flowNodeRef>\n", ""),
                     ("<bpmn:flowNodeRef>file_record</bpmn:flowNodeRef>",
                      "<bpmn:flowNodeRef>file_record</bpmn:flowNodeRef><bpmn:flowNodeRef>triage</bpmn:flowNodeRef>"))
    move(session, case.instance_id, v2, district.ann)  # type: ignore[attr-defined]
    session.commit()
    task = open_task(session, case)
    assert (task.bpmn_id, task.role, task.department_id, task.claimed_by) == ("triage", "lead", district.dept.id, None)
    work(session, case, "triage", district.lead, solved_on_spot=False)
    assert open_task(session, case).bpmn_id == "contact_citizen"


NEW_WARNING = """<bpmn:boundaryEvent id="triage_early_warning" name="提前提醒" cancelActivity="false" attachedToRef="triage">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="timerKind" value="warning" />
          <spiffworkflow:property name="clock" value="triage" />
        </spiffworkflow:properties>
      </bpmn:extensionElements>
      <bpmn:outgoing>flow_triage_early_warning</bpmn:outgoing>
      <bpmn:timerEventDefinition id="triage_early_warning_timer">
        <bpmn:timeDate xsi:type="bpmn:tFormalExpression">warning_before(deadline(contact_from, 2))</bpmn:timeDate>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="triage_early_warning_end" name="已提醒">
      <bpmn:incoming>flow_triage_early_warning</bpmn:incoming>
    </bpmn:endEvent>
    <bpmn:sequenceFlow id="flow_triage_early_warning" sourceRef="triage_early_warning" targetRef="triage_early_warning_end" />
    <bpmn:endEvent id="triage_warning_end\""""


def test_a_new_warning_reaches_the_instances_waiting_at_its_task(session: Session, district: District,
                                                                 clock: ManualClock) -> None:
    warned = a_case(session, district, clock)
    clock.set(beijing("2026-10-10T08:00:00"))  # its first handling's warning fires
    assert sweep_instance(make_engine(session), warned.instance_id) == 1
    session.commit()
    waiting = a_case(session, district, clock)
    past = a_case(session, district, clock)
    work(session, past, "triage", district.h1, solved_on_spot=False)
    old_task = open_task(session, waiting)
    v2 = new_version(session, district, ('<bpmn:endEvent id="triage_warning_end"', NEW_WARNING))
    reasons = {c.case_no: c.reasons for c in plan(session, v2).candidates}
    # The past case never meets the new timer; the warned one would be warned twice.
    assert reasons == {waiting.case_no: [], past.case_no: [],
                       warned.case_no: ["已办理的“初步处置”的边界事件在新版本中有改动（离开的连线）"]}
    result = move_all(session, v2, district.ann)  # type: ignore[attr-defined]
    assert sorted(result.moved) == sorted([waiting.case_no, past.case_no]) and list(result.refused) == [warned.case_no]
    added = timer(session, waiting, "triage_early_warning")
    assert (added.kind, added.clock, added.due_at) == ("warning", "triage", beijing("2026-10-12T23:59:59"))
    assert timer(session, waiting, "triage_deadline").due_at == beijing("2026-10-14T23:59:59")
    task = open_task(session, waiting)  # offered again, with the new version's boundary events
    assert task.bpmn_id == "triage" and task.id != old_task.id
    assert session.get(HumanTask, old_task.id).status == "cancelled"
    work(session, waiting, "triage", district.h1, solved_on_spot=False)
    assert open_task(session, waiting).bpmn_id == "contact_citizen"
    assert session.scalars(select(Timer).where(Timer.instance_id == waiting.instance_id,
                                               Timer.status == "waiting", Timer.bpmn_id.like("triage%"))).all() == []


def test_a_case_migrated_mid_way_replays_on_both_versions(session: Session, district: District,
                                                          clock: ManualClock) -> None:
    """Issue 8: the replay starts the case on version 1, re-applies the move to version 2 where
    the history records it, and goes on there; the audit page shows each step's version."""
    from datetime import timedelta

    from app.services.audit_view import audit_case
    from app.services.case_replay import replay_case

    case = a_case(session, district, clock)
    clock.advance(timedelta(hours=1))
    v2 = new_version(session, district, LONGER_TRIAGE, ('name="初步处置">', 'name="初步处置（首次联系）">'))
    clock.advance(timedelta(hours=1))
    move(session, case.instance_id, v2, district.ann)  # type: ignore[attr-defined]
    session.commit()
    clock.advance(timedelta(hours=1))
    work(session, case, "triage", district.h1, solved_on_spot=False)
    clock.advance(timedelta(hours=1))
    work(session, case, "contact_citizen", district.h1, **CONTACTED)
    session.expire_all()
    result = replay_case(session, session.get(Case, case.id), with_marks=True)
    assert result.consistent, result.describe()
    assert [(s.kind, s.version) for s in result.steps] == [("start", 1), ("migrate", 2), ("task", 2), ("task", 2)]
    moved = result.steps[1]
    # the move's own effect, the triage deadline now 4 working days out, was recorded and re-derived
    assert moved.recorded == moved.replayed
    assert any(sig[:2] == ("deadline_recomputed", "triage_deadline") for sig in moved.recorded)
    diagrams = audit_case(session, session.get(Case, case.id)).diagrams(session)
    assert {"1:bad_review", "2:bad_review"} <= set(diagrams["processes"])
    assert [s["version"] for s in diagrams["steps"]] == [1, 2, 2, 2]
