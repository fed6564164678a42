"""SpiffWorkflow's own speed, without a database (issue 4's reference figures): what one
core does for the shipped ``bad_review`` process, next to a minimal process (start → one
user task → end) — the ceiling the engine benchmark's figures can be read against.

- create: a new instance with the case's start data, its engine steps to the first user
  task and its timers, serialized without its spec (what opening a case costs SpiffWorkflow);
- complete: load the serialized instance, complete the triage task, run the engine steps,
  serialize again (what a task completion costs SpiffWorkflow).

    python bench/spiff_ceiling.py
    python bench/spiff_ceiling.py --runs 2000
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from SpiffWorkflow.bpmn import BpmnWorkflow  # noqa: E402
from SpiffWorkflow.util.task import TaskState  # noqa: E402

from workflows.scripting import make_script_engine  # noqa: E402
from workflows.serializer import InstanceSerializer  # noqa: E402
from workflows.specs import ProcessSpecs, parse_process, read_bundle  # noqa: E402

MINIMAL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="minimal" targetNamespace="bench">
  <bpmn:process id="minimal" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>to_task</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="triage" name="分办"><bpmn:incoming>to_task</bpmn:incoming><bpmn:outgoing>to_end</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>to_end</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="to_task" sourceRef="start" targetRef="triage"/>
    <bpmn:sequenceFlow id="to_end" sourceRef="triage" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""

START_DATA = {"case_no": "CP202609300000001", "department_id": 1, "real_name": True, "level": "dissatisfied",
              "received_at": "2026-09-30T10:00:00+08:00"}
FORM_DATA = {"solved_on_spot": False}


def rate(runs: int, step: Callable[[], object]) -> float:
    step()  # warm-up
    started = time.perf_counter()
    for _ in range(runs):
        step()
    return runs / (time.perf_counter() - started)


def measure(specs: ProcessSpecs, runs: int) -> tuple[float, float]:
    engine, serializer = make_script_engine(), InstanceSerializer()

    def create() -> dict[str, object]:
        workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=engine)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(START_DATA)
        workflow.do_engine_steps()
        return serializer.dump(workflow)

    state = create()

    def complete() -> None:
        workflow = serializer.load(state, specs, engine)
        task = next(iter(workflow.get_tasks(state=TaskState.READY, manual=True)))
        task.data.update(FORM_DATA)
        task.run()
        workflow.do_engine_steps()
        serializer.dump(workflow)

    return rate(runs, create), rate(runs, complete)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000, help="instances created and completed (default 1000)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: must be at least 1")
    print(f"SpiffWorkflow alone, one process, no database ({args.runs} runs each)")
    for label, specs in (("bad_review (shipped)", parse_process(read_bundle().bpmn_files, "bad_review")),
                         ("minimal (start, task, end)", parse_process({"minimal.bpmn": MINIMAL}, "minimal"))):
        created, completed = measure(specs, args.runs)
        print(f"  {label:28} create + steps + save: {created:7.0f} /s   "
              f"load + complete + steps + save: {completed:7.0f} /s")


if __name__ == "__main__":
    main()
