"""workflows.clock: the engine clock, and SpiffWorkflow timers that obey it."""

from __future__ import annotations

import datetime as datetime_module
import subprocess
import sys
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.util.task import TaskState

from workflows import clock as clock_module
from workflows.clock import (
    Clock, EngineDatetime, ManualClock, SystemClock, current_clock, set_clock, using_clock)

ROOT = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc)  # 10:00 in Beijing


@pytest.fixture(autouse=True)
def restore_clock() -> Iterator[None]:
    previous = current_clock()
    yield
    set_clock(previous)


# -- the clocks ------------------------------------------------------------------------
def test_system_clock_is_real_aware_utc_time() -> None:
    before = datetime.now(timezone.utc)
    now = SystemClock().now()
    after = datetime.now(timezone.utc)
    assert now.tzinfo is timezone.utc
    assert before <= now <= after


def test_manual_clock_stands_still_until_moved() -> None:
    manual = ManualClock(datetime(2026, 9, 30, 10, 0, tzinfo=SHANGHAI))
    assert manual.now() == START
    assert manual.now().utcoffset() == timedelta(0)
    assert manual.now() == manual.now()
    manual.advance(timedelta(days=1, seconds=5))
    assert manual.now() == START + timedelta(days=1, seconds=5)
    manual.advance(timedelta(hours=-1))
    assert manual.now() == START + timedelta(days=1, seconds=5, hours=-1)
    manual.set(datetime(2030, 1, 1, 8, 0, tzinfo=SHANGHAI))
    assert manual.now() == datetime(2030, 1, 1, 0, 0, tzinfo=timezone.utc)
    assert isinstance(manual, Clock) and isinstance(SystemClock(), Clock)


@pytest.mark.parametrize("action", ["start", "set"])
def test_manual_clock_refuses_naive_datetimes(action: str) -> None:
    naive = datetime(2026, 9, 30, 10, 0)
    with pytest.raises(ValueError, match="needs a timezone"):
        if action == "start":
            ManualClock(naive)
        else:
            ManualClock(START).set(naive)


def test_manual_clock_refuses_what_is_not_a_datetime_or_timedelta() -> None:
    with pytest.raises(TypeError, match="must be a datetime"):
        ManualClock("2026-09-30T10:00:00+08:00")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="must be a timedelta"):
        ManualClock(START).advance(3600)  # type: ignore[arg-type]


def test_set_clock_and_using_clock_restore_the_previous_clock() -> None:
    outer, inner = ManualClock(START), ManualClock(START + timedelta(days=1))
    set_clock(outer)
    assert current_clock() is outer
    with using_clock(inner) as used:
        assert used is inner and current_clock() is inner
    assert current_clock() is outer
    with pytest.raises(RuntimeError), using_clock(inner):
        raise RuntimeError("boom")
    assert current_clock() is outer
    with pytest.raises(TypeError, match="now\\(\\) method"):
        set_clock(object())  # type: ignore[arg-type]
    assert current_clock() is outer


def test_the_default_clock_is_the_system_clock() -> None:
    code = ("from workflows.clock import SystemClock, current_clock; "
            "assert isinstance(current_clock(), SystemClock)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -- the datetime SpiffWorkflow's timers see -------------------------------------------
def test_spiff_timer_module_reads_the_engine_clock_and_nothing_else_is_patched() -> None:
    assert spiff_timer.datetime is EngineDatetime
    clock_module._install_timer_clock()  # idempotent
    clock_module._install_timer_clock()
    assert spiff_timer.datetime is EngineDatetime
    assert datetime_module.datetime is datetime
    with using_clock(ManualClock(datetime(2030, 1, 1, tzinfo=timezone.utc))):
        assert datetime.now(timezone.utc).year < 2030  # the global datetime is the real one
        assert spiff_timer.datetime.now(timezone.utc) == datetime(2030, 1, 1, tzinfo=timezone.utc)


def test_engine_datetime_now_in_every_zone() -> None:
    with using_clock(ManualClock(START)):
        in_utc = EngineDatetime.now(timezone.utc)
        assert type(in_utc) is EngineDatetime and in_utc == START
        in_shanghai = EngineDatetime.now(SHANGHAI)
        assert in_shanghai.tzinfo is SHANGHAI and in_shanghai.hour == 10
        naive = EngineDatetime.now()
        assert naive.tzinfo is None
        assert naive == START.astimezone().replace(tzinfo=None)
        assert EngineDatetime.today() == naive
        assert EngineDatetime.utcnow() == datetime(2026, 9, 30, 2, 0)
        with pytest.raises(TypeError, match="tzinfo"):
            EngineDatetime.now("UTC")  # type: ignore[arg-type]


def test_engine_datetime_behaves_as_datetime_otherwise() -> None:
    parsed = EngineDatetime.fromisoformat("2026-09-30T10:00:00+08:00")
    assert type(parsed) is EngineDatetime and parsed == START
    combined = EngineDatetime.combine(parsed.date(), parsed.time(), SHANGHAI)
    assert combined == START and isinstance(combined, datetime)
    assert type(parsed.astimezone(timezone.utc)) is EngineDatetime
    assert parsed + timedelta(days=1) > START
    assert isinstance(datetime(2026, 1, 1), EngineDatetime)  # plain datetimes still pass checks
    assert issubclass(datetime, EngineDatetime)
    assert not isinstance("2026-01-01", EngineDatetime)
    assert EngineDatetime.fromisocalendar(2026, 40, 3).date() == START.date()


def test_a_clock_giving_naive_times_is_refused_when_read() -> None:
    class NaiveClock:
        def now(self) -> datetime:
            return datetime(2026, 9, 30, 10, 0)

    with using_clock(NaiveClock()), pytest.raises(ValueError, match="needs a timezone"):
        EngineDatetime.now(timezone.utc)


# -- real SpiffWorkflow timers ---------------------------------------------------------
def timer_process(timer: str) -> bytes:
    """A user task with a non-interrupting boundary timer; ``timer`` is its definition."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="defs" targetNamespace="test">
  <bpmn:process id="timed" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work"/>
    <bpmn:userTask id="work" name="work"><bpmn:incoming>f1</bpmn:incoming>
      <bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="done"/>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:boundaryEvent id="due" attachedToRef="work" cancelActivity="false">
      <bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:timerEventDefinition>{timer}</bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="due" targetRef="overdue"/>
    <bpmn:endEvent id="overdue"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>""".encode()


TIME_DATE = '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">due_at</bpmn:timeDate>'
DURATION = '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">"P1D"</bpmn:timeDuration>'


def start_workflow(timer: str, **data: str) -> BpmnWorkflow:
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(timer_process(timer))
    workflow = BpmnWorkflow(parser.get_spec("timed"))
    workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
    workflow.do_engine_steps()
    return workflow


def refresh(workflow: BpmnWorkflow, method: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # refresh_waiting_tasks is
        getattr(workflow, method)()                          # an alias of refresh_timers
    workflow.do_engine_steps()


def state(workflow: BpmnWorkflow, spec_name: str) -> str:
    return TaskState.get_name(workflow.get_next_task(spec_name=spec_name).state)


@pytest.mark.parametrize("method", ["refresh_waiting_tasks", "refresh_timers"])
@pytest.mark.parametrize("due_at", [
    "2020-09-30T10:00:00+08:00",  # long past on the real clock
    "2026-09-30T10:00:00+08:00",
    "2030-09-30T10:00:00+08:00",  # in the future of the real clock
])
def test_time_date_timer_fires_when_the_engine_clock_passes_it(due_at: str, method: str) -> None:
    due = datetime.fromisoformat(due_at)
    real_now = datetime.now(timezone.utc)
    assert due < real_now if due.year == 2020 else True
    assert due > real_now if due.year == 2030 else True
    manual = ManualClock(due - timedelta(days=1))
    with using_clock(manual):
        workflow = start_workflow(TIME_DATE, due_at=due_at)
        assert state(workflow, "due") == "WAITING"
        assert state(workflow, "work") == "READY"

        refresh(workflow, method)
        assert state(workflow, "due") == "WAITING"
        manual.set(due)  # due, but not passed
        refresh(workflow, method)
        assert state(workflow, "due") == "WAITING"
        assert state(workflow, "overdue") != "COMPLETED"

        manual.advance(timedelta(seconds=1))
        refresh(workflow, method)
        assert state(workflow, "due") == "COMPLETED"
        assert state(workflow, "overdue") == "COMPLETED"
        assert state(workflow, "work") == "READY"  # non-interrupting: the work goes on


def test_duration_timer_counts_from_the_engine_clock() -> None:
    manual = ManualClock(datetime(2030, 9, 30, 2, 0, tzinfo=timezone.utc))
    with using_clock(manual):
        workflow = start_workflow(DURATION)
        due = workflow.get_next_task(spec_name="due")
        assert datetime.fromisoformat(due.internal_data["event_value"]) == \
            datetime(2030, 10, 1, 2, 0, tzinfo=timezone.utc)
        manual.advance(timedelta(hours=23, minutes=59))
        refresh(workflow, "refresh_timers")
        assert state(workflow, "due") == "WAITING"
        manual.advance(timedelta(minutes=2))
        refresh(workflow, "refresh_timers")
        assert state(workflow, "due") == "COMPLETED"
