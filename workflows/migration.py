"""Moving a running instance to another version of its process, with SpiffWorkflow's
workflow diff (``SpiffWorkflow.bpmn.util.diff``).

An instance may move when nothing it has completed or started was changed or removed in the
new version (SpiffWorkflow's own rule, see its "Diff Utilities" documentation), with these
allowances, none of which touches what already ran:

* a new display name or documentation of a completed element;
* the boundary-event split or join (SpiffWorkflow's own specs) of a task the instance has
  finished with;
* new or removed boundary events (a warning added) of the task the instance waits at, while
  none of its boundary events has fired: the split is run again, so the task is offered
  afresh with the new version's timers.

Waiting tasks and timers are then reset onto the new version: a changed timer expression is
evaluated again; a renamed task keeps its row (same task id).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.util.diff import SpecDiff, WorkflowDiff, filter_tasks, migrate_workflow
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.util.task import TaskState

from .specs import ProcessSpecs

# Changes to a completed element that do not matter to what already ran.
HARMLESS = frozenset({"bpmn_name", "documentation"})
# SpiffWorkflow's own specs (a boundary event's split and join) copy their host's lane.
INTERNAL_HARMLESS = frozenset({"lane"})
SPLIT, JOIN = ".BoundaryEventSplit", ".BoundaryEventJoin"
REGISTRY = BpmnWorkflowSerializer.configure(SPIFF_CONFIG)
ATTRIBUTE_LABELS = {
    "bpmn_name": "名称", "documentation": "说明", "lane": "泳道", "extensions": "扩展属性（表单、阶段、定时器类型）",
    "inputs": "进入的连线", "outputs": "离开的连线", "script": "脚本", "event_definition": "事件定义（定时器表达式）",
    "cond_task_specs": "条件分支", "default_task_spec": "默认分支", "typename": "元素类型", "spec": "调用的流程",
    "prescript": "前置脚本", "postscript": "后置脚本", "cancel_activity": "是否中断", "bpmn_id": "标识",
    "name": "内部名称",
}


class MigrationRefused(RuntimeError):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("；".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class _Diffs:
    top: tuple[SpecDiff, WorkflowDiff]
    subprocesses: dict[Any, tuple[SpecDiff, WorkflowDiff] | None]


def _diff(workflow: BpmnWorkflow, new: ProcessSpecs) -> _Diffs:
    top_spec = SpecDiff(REGISTRY, workflow.spec, new.spec)
    subs: dict[Any, tuple[SpecDiff, WorkflowDiff] | None] = {}
    for sp_id, sub in workflow.subprocesses.items():
        spec = new.subprocess_specs.get(sub.spec.name)
        if spec is None:
            subs[sp_id] = None
        else:
            spec_diff = SpecDiff(REGISTRY, sub.spec, spec)
            subs[sp_id] = (spec_diff, WorkflowDiff(sub, spec_diff))
    return _Diffs((top_spec, WorkflowDiff(workflow, top_spec)), subs)


def label(spec: Any) -> str:
    if getattr(spec, "bpmn_id", None) is None and "." in spec.name:  # SpiffWorkflow's own split or join
        host_id = spec.name.split(".", 1)[0]
        host = getattr(spec, "_wf_spec", None) and spec._wf_spec.task_specs.get(host_id)
        return f"“{getattr(host, 'bpmn_name', None) or host_id}”的边界事件"
    name = getattr(spec, "bpmn_name", None) or getattr(spec, "bpmn_id", None) or spec.name
    return f"“{name}”"


def attribute_labels(changes: list[str]) -> str:
    return "、".join(ATTRIBUTE_LABELS.get(c, c) for c in changes)


def _reopened_split(task: Any, changes: list[str]) -> bool:
    """A completed boundary-event split whose host is still waiting, changed only in which
    boundary events it has (a warning added, say): the split is run again on the new version,
    so the waiting task gets the new version's boundary events."""
    name = task.task_spec.name
    if task.task_spec.bpmn_id is not None or not name.endswith(SPLIT) or not set(changes) <= {"outputs"}:
        return False
    host = name.removesuffix(SPLIT)
    waiting = any(child.task_spec.name == host and child.state in (TaskState.READY, TaskState.WAITING)
                  for child in task.children)
    # A boundary event that already fired would fire again: such an instance stays.
    fired = any(child.task_spec.name != host and child.has_state(TaskState.FINISHED_MASK | TaskState.STARTED)
                for child in task.children)
    return task.state == TaskState.COMPLETED and waiting and not fired


def _past_boundary(task: Any, changes: list[str]) -> bool:
    """A boundary-event split or join of a task the instance has finished with, changed only
    in which boundary events there are: that matters only while the task waits (and a loop
    back to the task runs the new version's split)."""
    name = task.task_spec.name
    if task.task_spec.bpmn_id is not None or not set(changes) <= {"inputs", "outputs"}:
        return False
    host = name.removesuffix(SPLIT).removesuffix(JOIN)
    if host == name:
        return False
    finished = TaskState.COMPLETED | TaskState.CANCELLED
    hosts = [t for t in task.workflow.tasks.values() if t.task_spec.name == host]
    return bool(hosts) and all(t.state & finished for t in hosts)


def _reasons(spec_diff: SpecDiff, workflow_diff: WorkflowDiff, reopen: list[Any] | None = None) -> list[str]:
    reasons: dict[str, str] = {}
    done = TaskState.COMPLETED | TaskState.STARTED
    for task in filter_tasks(workflow_diff.removed, state=done):
        reasons.setdefault(task.task_spec.name, f"已办理的{label(task.task_spec)}在新版本中被删除")
    for task in filter_tasks(workflow_diff.changed, state=done):
        harmless = HARMLESS if task.task_spec.bpmn_id else HARMLESS | INTERNAL_HARMLESS
        changes = [c for c in spec_diff.comparisons.get(task.task_spec, []) if c not in harmless]
        if changes and _past_boundary(task, changes):
            continue
        if changes and _reopened_split(task, changes):
            if reopen is not None:
                reopen.append(task)
        elif changes:
            reasons.setdefault(task.task_spec.name,
                               f"已办理的{label(task.task_spec)}在新版本中有改动（{attribute_labels(changes)}）")
    return list(reasons.values())


def migration_problems(workflow: BpmnWorkflow, new: ProcessSpecs) -> list[str]:
    """Why ``workflow`` cannot move to ``new`` ([] = it can), in Chinese."""
    diffs = _diff(workflow, new)
    reasons = _reasons(*diffs.top)
    for sp_id, diff in diffs.subprocesses.items():
        sub = workflow.subprocesses[sp_id]
        if diff is None:
            reasons.append(f"正在运行的子流程“{sub.spec.name}”在新版本中不存在")
        else:
            reasons += [f"子流程“{sub.spec.name}”中{reason}" for reason in _reasons(*diff)]
    return reasons


def migrate(workflow: BpmnWorkflow, new: ProcessSpecs) -> None:
    """Move ``workflow`` onto ``new`` in place (after :func:`migration_problems` found none).

    Waiting and ready tasks are reset and predicted again from the new version (a waiting
    task whose boundary events changed is offered again, with the new version's timers);
    the caller runs the engine and saves. Raises :class:`MigrationRefused` when the instance cannot
    move or a task could not be aligned with the new version.
    """
    reasons = migration_problems(workflow, new)
    if reasons:
        raise MigrationRefused(reasons)
    diffs = _diff(workflow, new)
    reopen: list[Any] = []
    _reasons(*diffs.top, reopen=reopen)
    for diff in diffs.subprocesses.values():
        assert diff is not None  # checked above
        _reasons(*diff, reopen=reopen)
    migrate_workflow(diffs.top[1], workflow, new.spec)
    for sp_id, sub in workflow.subprocesses.items():
        migrate_workflow(diffs.subprocesses[sp_id][1], sub, new.subprocess_specs[sub.spec.name])  # type: ignore[index]
    workflow.subprocess_specs = new.subprocess_specs
    for split in reopen:  # after the specs are aligned: it runs again as the new version has it
        if split.id in split.workflow.tasks:
            split.reset_branch(None)
    # SpiffWorkflow's event manager keeps the waiting events of dropped branches: forget them.
    manager = workflow.event_manager
    for task_id, task in list(manager.tasks.items()):
        if task.workflow.tasks.get(task_id) is not task:
            manager.tasks.pop(task_id)
    stray = [task for wf in (workflow, *workflow.subprocesses.values()) for task in wf.tasks.values()
             if wf.spec.task_specs.get(task.task_spec.name) is not task.task_spec]
    if stray:
        raise MigrationRefused([f"{label(task.task_spec)}（{TaskState.get_name(task.state)}）无法对应到新版本的元素"
                                for task in stray[:5]])
