"""The engine over a database: start, mirror tasks and timers, complete, fire, save
without the spec, recompute timers, fail and retry. A small inline process keeps each
rule visible; the shipped processes are walked in test_processes.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.clock import ManualClock
from workflows.engine import Engine, EngineError, EngineListener, ScriptFailure
from workflows.scripting import make_script_engine
from workflows.specs import BpmnFileError, SpecRegistry, parse_xml_safely
from workflows.sweep import sweep
from workflows.tables import Deployment, HumanTask, ProcessInstance, Timer

PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="defs" targetNamespace="t">
  <bpmn:collaboration id="collab"><bpmn:participant id="part" processRef="mini"/></bpmn:collaboration>
  <bpmn:process id="mini" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_h" name="部门经办人">
        <bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>contact</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>warn</bpmn:flowNodeRef><bpmn:flowNodeRef>late</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>warned</bpmn:flowNodeRef><bpmn:flowNodeRef>escalated</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>calc</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_v" name="审核员">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef><bpmn:flowNodeRef>end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="contact" name="联系群众">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="form" value="contact_record"/>
        <spiffworkflow:property name="stage" value="contact"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="warn" name="预警" attachedToRef="contact" cancelActivity="false">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="timerKind" value="warning"/>
        <spiffworkflow:property name="clock" value="contact"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>warning_before(deadline(contact_from, days))</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:boundaryEvent id="late" name="超期" attachedToRef="contact" cancelActivity="false">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="timerKind" value="deadline"/>
        <spiffworkflow:property name="clock" value="contact"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:outgoing>f4</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>deadline(contact_from, days)</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="warned"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="escalated"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:scriptTask id="calc" name="计算"><bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
      <bpmn:script>checked = 1 / divisor</bpmn:script></bpmn:scriptTask>
    <bpmn:userTask id="review" name="审核">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="form" value="appeal_decision"/>
        <spiffworkflow:property name="stage" value="appeal"/>
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f5</bpmn:incoming><bpmn:outgoing>f6</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="contact"/>
    <bpmn:sequenceFlow id="f2" sourceRef="contact" targetRef="calc"/>
    <bpmn:sequenceFlow id="f3" sourceRef="warn" targetRef="warned"/>
    <bpmn:sequenceFlow id="f4" sourceRef="late" targetRef="escalated"/>
    <bpmn:sequenceFlow id="f5" sourceRef="calc" targetRef="review"/>
    <bpmn:sequenceFlow id="f6" sourceRef="review" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
RECEIVED = "2026-09-30T10:00:00+08:00"  # before the National Day break
SHANGHAI = timezone(timedelta(hours=8))


class Recorder(EngineListener):
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def task_opened(self, session, instance, task):  # type: ignore[override]
        self.events.append(("task_opened", task.bpmn_id))

    def task_closed(self, session, instance, task):  # type: ignore[override]
        self.events.append(("task_closed", f"{task.bpmn_id}:{task.status}"))

    def timer_fired(self, session, instance, timer):  # type: ignore[override]
        self.events.append(("timer_fired", timer.bpmn_id))

    def timer_moved(self, session, instance, timer, old):  # type: ignore[override]
        self.events.append(("timer_moved", f"{timer.bpmn_id}:{old.isoformat()}->{timer.due_at.isoformat()}"))

    def instance_completed(self, session, instance, data):  # type: ignore[override]
        self.events.append(("instance_completed", str(data.get("checked"))))

    def instance_errored(self, session, instance, message):  # type: ignore[override]
        self.events.append(("instance_errored", message))


SPECS = SpecRegistry()


def make_engine(session: Session, listener: EngineListener | None = None) -> Engine:
    return Engine(session, SPECS, make_script_engine(), listener)


def deploy(session: Session) -> Deployment:
    deployment = Deployment(version=1, bpmn_files={"mini.bpmn": PROCESS}, form_files={}, sha256="x" * 64,
                            deployed_by="test", deployed_at=datetime.now(timezone.utc))
    session.add(deployment)
    session.flush()
    return deployment


def start(session: Session, listener: EngineListener | None = None, key: str = "CP1", **data) -> ProcessInstance:
    values = {"department_id": 7, "contact_from": RECEIVED, "days": 3, "divisor": 1, **data}
    deployment = session.scalar(select(Deployment)) or deploy(session)
    return make_engine(session, listener).start(deployment, "mini", key, values)


def beijing(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def open_tasks(session: Session) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(HumanTask.status == "ready")))


def test_start_mirrors_ready_tasks_and_waiting_timers(session_factory: Callable[[], Session],
                                                     clock: ManualClock) -> None:
    recorder = Recorder()
    with session_factory() as session:
        instance = start(session, recorder)
        session.commit()
        [task] = open_tasks(session)
        assert (task.bpmn_id, task.name, task.lane, task.role, task.department_id, task.form, task.stage) == \
            ("contact", "联系群众", "部门经办人", "handler", 7, "contact_record", "contact")
        timers = {t.bpmn_id: t for t in session.scalars(select(Timer))}
        # 3 working days from 2026-09-30: 10-08, 10-09, 10-10 (a Saturday make-up working day).
        assert timers["late"].due_at == beijing("2026-10-10T23:59:59")
        assert timers["warn"].due_at == beijing("2026-10-09T23:59:59")
        assert (timers["late"].kind, timers["late"].clock, timers["late"].attached_to) == \
            ("deadline", "contact", "contact")
        assert timers["warn"].kind == "warning"
        assert task.due_at == timers["late"].due_at
        assert instance.status == "running" and "spec" not in instance.state
        assert recorder.events == [("task_opened", "contact")]


def test_complete_task_runs_scripts_and_offers_the_next_task(session_factory: Callable[[], Session],
                                                            clock: ManualClock) -> None:
    recorder = Recorder()
    with session_factory() as session:
        start(session, recorder)
        session.commit()
        [task] = open_tasks(session)
        make_engine(session, recorder).complete_task(task, {"contacted": True}, user_id=42)
        session.commit()
        assert task.status == "completed" and task.completed_by == 42
        [review] = open_tasks(session)
        assert (review.bpmn_id, review.role, review.department_id) == ("review", "verifier", None)
        assert set(session.scalars(select(Timer.status))) == {"cancelled"}, "timers end with their activity"
        make_engine(session, recorder).complete_task(review, {}, user_id=43)
        session.commit()
        instance = session.scalar(select(ProcessInstance))
        assert instance.status == "completed" and instance.completed_at is not None
    assert recorder.events[-1] == ("instance_completed", "1.0")


def test_completing_twice_or_a_stale_task_is_refused(session_factory: Callable[[], Session],
                                                    clock: ManualClock) -> None:
    with session_factory() as session:
        start(session)
        session.commit()
        [task] = open_tasks(session)
        make_engine(session).complete_task(task, {}, user_id=1)
        session.commit()
        with pytest.raises(EngineError, match="no longer open"):
            make_engine(session).complete_task(task, {}, user_id=2)


def test_timers_fire_on_the_engine_clock_once(session_factory: Callable[[], Session],
                                              clock: ManualClock) -> None:
    recorder = Recorder()
    with session_factory() as session:
        start(session, recorder)
        session.commit()

    def run() -> int:
        return sweep(session_factory, lambda s: make_engine(s, recorder)).fired

    clock.set(beijing("2026-10-09T12:00:00"))
    assert run() == 0
    clock.set(beijing("2026-10-10T00:00:01"))
    assert run() == 1 and recorder.events[-1] == ("timer_fired", "warn")
    assert run() == 0, "a fired timer never fires again"
    clock.set(beijing("2026-10-11T00:00:01"))
    assert run() == 1 and recorder.events[-1] == ("timer_fired", "late")
    with session_factory() as session:
        [task] = open_tasks(session)
        assert task.bpmn_id == "contact", "the case goes on after a missed deadline"
        assert {t.bpmn_id: t.status for t in session.scalars(select(Timer))} == {"warn": "fired", "late": "fired"}


def test_timers_follow_the_data(session_factory: Callable[[], Session], clock: ManualClock) -> None:
    """A waiting timer is re-evaluated after each step: changing its inputs moves it."""
    recorder = Recorder()
    with session_factory() as session:
        instance = start(session, recorder)
        session.commit()
        engine = make_engine(session, recorder)
        loaded = engine.load(instance.id)
        for spiff_task in loaded.workflow.get_tasks():
            spiff_task.data["days"] = 5
        engine.recompute_timers(loaded)
        session.commit()
        late = session.scalar(select(Timer).where(Timer.bpmn_id == "late"))
        assert late.due_at == beijing("2026-10-13T23:59:59")
        assert ("timer_moved", "late:2026-10-10T15:59:59+00:00->2026-10-13T15:59:59+00:00") in recorder.events
        assert open_tasks(session)[0].due_at == late.due_at


def test_instances_load_back_without_the_spec(session_factory: Callable[[], Session],
                                              clock: ManualClock) -> None:
    with session_factory() as session:
        instance = start(session)
        session.commit()
        state_size = len(str(instance.state))
    with session_factory() as session:
        loaded = make_engine(session).load(instance.id)
        assert [t.task_spec.bpmn_id for t in loaded.workflow.get_tasks() if t.task_spec.bpmn_id == "contact"]
        assert loaded.workflow.script_engine is not None
        assert state_size < len(PROCESS) * 3


def test_a_failing_script_marks_the_instance_errored_and_retry_recovers(
        session_factory: Callable[[], Session], clock: ManualClock) -> None:
    recorder = Recorder()
    with session_factory() as session:
        instance = start(session, recorder, divisor=0)
        session.commit()
        [task] = open_tasks(session)
        engine = make_engine(session, recorder)
        with pytest.raises(ScriptFailure, match="ZeroDivisionError"):
            engine.complete_task(task, {}, user_id=1)
        session.rollback()
        engine.mark_errored(instance.id, "ZeroDivisionError: division by zero")
        session.commit()
    with session_factory() as session:
        instance = session.get(ProcessInstance, instance.id)
        assert instance.status == "errored" and "ZeroDivisionError" in instance.error
        [task] = open_tasks(session)
        assert task.bpmn_id == "contact", "nothing of the failed step was kept"
        engine = make_engine(session, recorder)
        loaded = engine.load(instance.id)
        for spiff_task in loaded.workflow.get_tasks():
            spiff_task.data["divisor"] = 2  # the administrator's fix (e.g. data corrected)
        loaded.row.state = engine.serializer.dump(loaded.workflow)
        session.commit()
        engine.retry(instance.id)
        session.commit()
        assert session.get(ProcessInstance, instance.id).status == "running"
        engine.complete_task(open_tasks(session)[0], {}, user_id=1)
        session.commit()
        assert open_tasks(session)[0].bpmn_id == "review"


def test_sweep_passes_over_errored_instances(session_factory: Callable[[], Session], clock: ManualClock) -> None:
    with session_factory() as session:
        good = start(session, key="CP-good")
        bad = start(session, key="CP-bad")
        session.commit()
        make_engine(session).mark_errored(bad.id, "broken")
        session.commit()
    clock.set(beijing("2026-10-10T00:00:01"))
    result = sweep(session_factory, make_engine)
    assert result.fired == 1 and result.instances == 1
    with session_factory() as session:
        statuses = {t.instance_id: t.status for t in session.scalars(select(Timer).where(Timer.bpmn_id == "warn"))}
        assert statuses == {good.id: "fired", bad.id: "waiting"}


@pytest.mark.parametrize(("xml", "message"), [
    ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>',
     "x.bpmn: a DOCTYPE is not allowed"),
    ('<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<x>&b;</x>',
     "x.bpmn: a DOCTYPE is not allowed"),
    ("<definitions><process>", "x.bpmn: line 1: not well-formed XML"),
])
def test_bpmn_is_parsed_without_entities(xml: str, message: str) -> None:
    with pytest.raises(BpmnFileError) as error:
        parse_xml_safely(xml, "x.bpmn")
    assert str(error.value).startswith(message)
