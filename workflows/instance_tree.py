"""Reading a SpiffWorkflow instance: its ready user tasks, waiting and fired timers, and
the mirror rows (``wf_task``, ``wf_timer``) made from them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .tables import READY, TIMER_KINDS, WAITING, HumanTask, ProcessInstance, Timer

# Lanes are roles (bpmn/README.md); handler and lead work their case's department.
LANE_ROLES = {"部门经办人": "handler", "部门负责人": "lead", "审核员": "verifier", "效能监督员": "supervisor"}
DEPARTMENT_ROLES = frozenset({"handler", "lead"})


def all_workflows(workflow: BpmnWorkflow) -> list[Any]:
    return [workflow, *workflow.subprocesses.values()]


def ready_user_tasks(workflow: BpmnWorkflow) -> Iterator[Task]:
    for wf in all_workflows(workflow):
        yield from wf.get_tasks(state=TaskState.READY, manual=True)


def waiting_timers(workflow: BpmnWorkflow) -> list[Task]:
    return [t for t in workflow.event_manager.tasks.values()
            if t.state == TaskState.WAITING and isinstance(t.task_spec.event_definition, TimerEventDefinition)]


def timers_completed_since(workflow: BpmnWorkflow, since: float) -> list[Task]:
    """Timer events that fired (completed) at or after ``since`` (``time.time()``)."""
    return [t for wf in all_workflows(workflow) for t in wf.tasks.values()
            if t.state == TaskState.COMPLETED and t.last_state_change >= since
            and isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)]


def find_task(workflow: BpmnWorkflow, uuid: str) -> Task | None:
    try:
        return workflow.get_task_from_id(UUID(uuid))
    except TaskNotFoundException:  # no longer in the tree (a migration re-ran its branch)
        return None


def is_done(workflow: BpmnWorkflow, uuid: str) -> bool:
    task = find_task(workflow, uuid)
    return task is not None and task.state == TaskState.COMPLETED


def enclosing_ids(workflow: BpmnWorkflow, spiff_task: Task) -> list[str]:
    """The task's bpmn id and those of the subprocesses around it, innermost first."""
    ids = [spiff_task.task_spec.bpmn_id]
    parent_id = spiff_task.workflow.parent_task_id
    while parent_id is not None:
        host = workflow.get_task_from_id(parent_id)
        ids.append(host.task_spec.bpmn_id)
        parent_id = host.workflow.parent_task_id
    return ids


def properties(spiff_task: Task) -> dict[str, str]:
    extensions = getattr(spiff_task.task_spec, "extensions", None) or {}
    return dict(extensions.get("properties", {}))


def task_row(instance: ProcessInstance, spiff_task: Task, now: datetime, department_id: Any) -> HumanTask:
    spec = spiff_task.task_spec
    props = properties(spiff_task)
    role = LANE_ROLES.get(spec.lane or "")
    return HumanTask(instance=instance, task_uuid=str(spiff_task.id), bpmn_id=spec.bpmn_id,
                     name=spec.bpmn_name or spec.bpmn_id, lane=spec.lane, role=role,
                     department_id=int(department_id) if role in DEPARTMENT_ROLES and department_id else None,
                     form=props.get("form"), stage=props.get("stage"), status=READY, created_at=now)


def timer_row(instance: ProcessInstance, spiff_task: Task, due: datetime, now: datetime) -> Timer:
    spec = spiff_task.task_spec
    props = properties(spiff_task)
    kind = props.get("timerKind", "other")
    parent = spiff_task.parent
    attached = None
    if parent is not None and parent.task_spec.name.endswith(".BoundaryEventSplit"):
        attached = parent.task_spec.name.removesuffix(".BoundaryEventSplit")
    return Timer(instance=instance, task_uuid=str(spiff_task.id), bpmn_id=spec.bpmn_id,
                 name=spec.bpmn_name or spec.bpmn_id, kind=kind if kind in TIMER_KINDS else "other",
                 clock=props.get("clock"), attached_to=attached, due_at=due, status=WAITING, created_at=now)


def final_data(workflow: BpmnWorkflow) -> dict[str, Any]:
    end = workflow.get_tasks(state=TaskState.COMPLETED)
    return dict(end[-1].data) if end else dict(workflow.data)
