"""Drive the shipped process models (bpmn/*.bpmn) directly on SpiffWorkflow, without the
database or Flask: parse the three files, run one workflow with the real restricted script
engine, complete user tasks with form values (validated and cleaned by the real form
definitions, as the application does), and move a :class:`ManualClock` to fire timers."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from workflows.clock import ManualClock, using_clock
from workflows.form_values import validate_submission
from workflows.forms import FormDefinition, load_forms
from workflows.scripting import make_script_engine

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
BPMN_FILES = ("bad_review.bpmn", "appeal.bpmn", "recheck.bpmn")

NS = {
    "bpmn": "http://www.omg.org/spec/BPMN/20100524/MODEL",
    "bpmndi": "http://www.omg.org/spec/BPMN/20100524/DI",
    "dc": "http://www.omg.org/spec/DD/20100524/DC",
    "di": "http://www.omg.org/spec/DD/20100524/DI",
    "spiffworkflow": "http://spiffworkflow.org/bpmn/schema/1.0/core",
}


@lru_cache(maxsize=None)
def parsed(process_id: str = "bad_review") -> tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]:
    """The spec of ``process_id`` and its subprocess specs, all three files in one parser."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_files([str(BPMN_DIR / name) for name in BPMN_FILES])
    return parser.get_spec(process_id), parser.get_subprocess_specs(process_id)


@lru_cache(maxsize=None)
def forms() -> dict[str, FormDefinition]:
    return load_forms(BPMN_DIR / "forms")


def at(moment: str) -> datetime:
    """An aware datetime from an ISO string with offset."""
    value = datetime.fromisoformat(moment)
    assert value.utcoffset() is not None, moment
    return value


class ProcessRun:
    """One running process instance and the clock it runs on."""

    def __init__(self, clock: ManualClock, data: dict[str, Any], process_id: str = "bad_review") -> None:
        spec, subprocess_specs = parsed(process_id)
        self.clock = clock
        self.workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=make_script_engine())
        start = self.workflow.get_tasks(state=TaskState.READY)[0]
        start.data.update(data)
        self.workflow.do_engine_steps()

    # -- what is open ------------------------------------------------------------------
    def ready_tasks(self) -> list[Task]:
        return self.workflow.get_tasks(state=TaskState.READY, manual=True)

    def ready(self) -> list[str]:
        """Ids of the READY user tasks (in this workflow and its subprocesses), sorted."""
        return sorted(task.task_spec.bpmn_id for task in self.ready_tasks())

    def task(self, bpmn_id: str) -> Task:
        """The single READY user task ``bpmn_id``."""
        found = [task for task in self.ready_tasks() if task.task_spec.bpmn_id == bpmn_id]
        assert len(found) == 1, f"expected {bpmn_id!r} to be the one READY task of that id; READY: {self.ready()}"
        return found[0]

    def timer_tasks(self, state: TaskState = TaskState.WAITING) -> list[Task]:
        return [task for task in self.workflow.get_tasks(state=state)
                if isinstance(getattr(task.task_spec, "event_definition", None), TimerEventDefinition)]

    def waiting_timers(self) -> dict[str, str]:
        """``{bpmn id: event_value}`` of the WAITING timers (the cached due time)."""
        timers = {}
        for task in self.timer_tasks():
            assert task.task_spec.bpmn_id not in timers, f"two waiting {task.task_spec.bpmn_id}"
            timers[task.task_spec.bpmn_id] = task._get_internal_data("event_value")
        return timers

    def reevaluated_timers(self) -> dict[str, str]:
        """What each waiting timer's expression gives now, on the timer task's own data —
        the value :mod:`workflows.engine` would move the timer to."""
        engine = make_script_engine()
        return {task.task_spec.bpmn_id: engine.evaluate(task, task.task_spec.event_definition.expression)
                for task in self.timer_tasks()}

    def data(self) -> dict[str, Any]:
        """The process data: the workflow's data once completed, else the data of the one
        READY user task."""
        if self.workflow.is_completed():
            return self.workflow.data
        ready = self.ready_tasks()
        assert len(ready) == 1, f"several READY tasks: {self.ready()}"
        return ready[0].data

    def completed(self, bpmn_id: str) -> int:
        """How many times ``bpmn_id`` completed (subprocesses included)."""
        return sum(1 for task in self._all_tasks() if task.task_spec.bpmn_id == bpmn_id
                   and task.state == TaskState.COMPLETED)

    # -- acting ------------------------------------------------------------------------
    def complete(self, bpmn_id: str, **fields: Any) -> Task:
        """Submit ``fields`` to the READY user task ``bpmn_id`` through its form definition
        (cleaned values become process variables), run it and the engine steps after it."""
        task = self.task(bpmn_id)
        form = forms()[task.task_spec.extensions["properties"]["form"]]
        cleaned, errors = validate_submission(form, fields)
        assert not errors, f"{bpmn_id}: form {form.name} refused {fields}: {errors}"
        task.data.update(cleaned)
        task.run()
        self.workflow.do_engine_steps()
        return task

    def move_clock(self, moment: str) -> None:
        """Set the engine clock, let the timers that are due fire, run the engine steps.
        (``refresh_waiting_tasks`` is a deprecated alias of ``refresh_timers`` in 3.2.)"""
        self.clock.set(at(moment))
        self.workflow.refresh_timers()
        self.workflow.do_engine_steps()

    def reload(self) -> int:
        """Serialize the instance to JSON and load it back (SPIFF_CONFIG, as DESIGN.md §8),
        attaching a fresh script engine; returns the size of the JSON."""
        serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(SPIFF_CONFIG))
        text = json.dumps(serializer.to_dict(self.workflow), ensure_ascii=False)
        self.workflow = serializer.from_dict(json.loads(text))
        self.workflow.script_engine = make_script_engine()
        return len(text)

    # -- what happened -----------------------------------------------------------------
    def _all_tasks(self) -> Iterator[Task]:
        yield from self.workflow.get_tasks()

    def visited_nodes(self) -> set[str]:
        """Ids of the flow nodes that completed."""
        return {task.task_spec.bpmn_id for task in self._all_tasks()
                if task.state == TaskState.COMPLETED and task.task_spec.bpmn_id is not None}

    def taken_flows(self) -> set[tuple[str, str]]:
        """``(source id, target id)`` of the sequence flows taken: each completed node and
        its nearest completed ancestor with a BPMN id (the engine's own split/join tasks
        have none). A boundary event's ancestor is its host's predecessor, so pairs ending
        at a boundary event are dropped."""
        pairs = set()
        for task in self._all_tasks():
            spec = task.task_spec
            if task.state != TaskState.COMPLETED or spec.bpmn_id is None:
                continue
            if type(spec).__name__ == "BoundaryEvent":
                continue
            parent = task.parent
            while parent is not None and parent.task_spec.bpmn_id is None:
                parent = parent.parent
            if parent is not None:
                pairs.add((parent.task_spec.bpmn_id, spec.bpmn_id))
        return pairs


class CaseStarter:
    """Starts ``bad_review`` instances on one manual clock and remembers them."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.runs: list[ProcessRun] = []

    def __call__(self, *, real_name: bool, received_at: str = "2026-03-02T10:00:00+08:00",
                 level: str = "dissatisfied", case_no: str = "HCP-2026-000001",
                 department_id: int = 7) -> ProcessRun:
        self.clock.set(at(received_at))
        run = ProcessRun(self.clock, dict(case_no=case_no, department_id=department_id,
                                          real_name=real_name, level=level, received_at=received_at))
        self.runs.append(run)
        return run


def starter() -> Iterator[CaseStarter]:
    """A :class:`CaseStarter` whose clock is the engine clock while it is in use."""
    clock = ManualClock(at("2026-01-05T09:00:00+08:00"))
    with using_clock(clock):
        yield CaseStarter(clock)


# -- static views of the files -------------------------------------------------------------
def documents() -> Iterable[tuple[str, etree._ElementTree]]:
    for name in BPMN_FILES:
        yield name, etree.parse(str(BPMN_DIR / name))


FLOW_NODE_TAGS = ("startEvent", "endEvent", "boundaryEvent", "intermediateCatchEvent",
                  "intermediateThrowEvent", "userTask", "scriptTask", "serviceTask", "manualTask",
                  "task", "sendTask", "receiveTask", "businessRuleTask", "callActivity", "subProcess",
                  "exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway")


def flow_nodes(tree: etree._ElementTree) -> list[etree._Element]:
    return [node for tag in FLOW_NODE_TAGS for node in tree.iterfind(f".//bpmn:{tag}", NS)]
