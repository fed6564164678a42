"""The process diagram of a case, for the bpmn-js viewer: the BPMN XML of the deployed
version the case's instance runs on (the bad_review process and each called process it
entered) and the elements to mark — completed, active, overdue.

Completed and active come from the serialized workflow (``wf_instance.state``), read
without the instance lock: SpiffWorkflow keeps every task it ran, in finished
subprocesses too, with its state, so gateways, events and script tasks are marked as well
as user tasks (the history only names user tasks and timers). Overdue comes from the
engine's rows: deadline timers that fired, and open tasks past their deadline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.specs.mixins.subworkflow_task import CallActivity
from SpiffWorkflow.util.task import TaskState

from workflows.clock import current_clock
from workflows.scripting import make_script_engine
from workflows.serializer import InstanceSerializer
from workflows.tables import FIRED, READY, Deployment, HumanTask, ProcessInstance, Timer

from ..models import Case, User
from .case_view import visible_case
from .engine_runtime import SPECS

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_SERIALIZER = InstanceSerializer()
_ACTIVE_STATES = TaskState.READY | TaskState.STARTED | TaskState.WAITING


@dataclass
class ProcessFile:
    process_id: str
    name: str
    file: str
    xml: str


@dataclass
class Marks:
    completed: set[str] = field(default_factory=set)
    active: set[str] = field(default_factory=set)
    overdue: set[str] = field(default_factory=set)


# Deployed versions never change: their process files are indexed once per version.
_FILES: dict[tuple[int, str], dict[str, ProcessFile]] = {}


def process_files(deployment: Deployment) -> dict[str, ProcessFile]:
    """Process id -> the file that defines it, for a deployed version."""
    key = (deployment.id, deployment.sha256)
    if key not in _FILES:
        files: dict[str, ProcessFile] = {}
        for name, xml in sorted(deployment.bpmn_files.items()):
            root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
            for process in root.iter(f"{{{BPMN_NS}}}process"):
                files[process.get("id")] = ProcessFile(process.get("id"), process.get("name") or process.get("id"),
                                                       name, xml)
        _FILES[key] = files
    return _FILES[key]


def _load(row: ProcessInstance) -> BpmnWorkflow:
    deployment = row.deployment
    specs = SPECS.get(deployment.id, lambda: deployment.bpmn_files, row.process_id, deployment.sha256)
    return _SERIALIZER.load(row.state, specs, make_script_engine())


def _process_of(top: BpmnWorkflow, workflow: Any) -> str:
    """The process whose diagram shows ``workflow``'s elements: its own for the top
    workflow and a called process, the enclosing one for an embedded subprocess."""
    while workflow is not top:
        host = top.get_task_from_id(workflow.parent_task_id)
        if isinstance(host.task_spec, CallActivity):
            return str(workflow.spec.name)
        workflow = host.workflow
    return str(top.spec.name)


def _enclosing(top: BpmnWorkflow, task: Any) -> set[UUID]:
    """The task and the (sub)process activities around it."""
    found = {task.id}
    parent_id = task.workflow.parent_task_id if task.workflow is not top else None
    while parent_id is not None:
        found.add(parent_id)
        host = top.get_task_from_id(parent_id)
        parent_id = host.workflow.parent_task_id if host.workflow is not top else None
    return found


def element_marks(session: Session, row: ProcessInstance, now: datetime) -> dict[str, Marks]:
    """Marks per process id, for the processes the instance entered (entry order)."""
    top = _load(row)
    marks: dict[str, Marks] = {}
    for workflow in [top, *top.subprocesses.values()]:
        target = marks.setdefault(_process_of(top, workflow), Marks())
        for task in workflow.tasks.values():
            bpmn_id = task.task_spec.bpmn_id
            if bpmn_id is None:
                continue  # the engine's own tasks (start, joins), not in the diagram
            if task.state == TaskState.COMPLETED:
                target.completed.add(bpmn_id)
            elif task.state & _ACTIVE_STATES:
                target.active.add(bpmn_id)

    def mark_overdue(task: Any) -> None:
        marks[_process_of(top, task.workflow)].overdue.add(task.task_spec.bpmn_id)

    # A fired deadline timer is overdue, and so is its host activity while it still runs,
    # with the open tasks inside it (the task rows lose their due date once it fired).
    late_hosts: set[UUID] = set()
    for uuid, attached_to in session.execute(select(Timer.task_uuid, Timer.attached_to).where(
            Timer.instance_id == row.id, Timer.kind == "deadline", Timer.status == FIRED)):
        timer_task = top.get_task_from_id(UUID(uuid))
        if timer_task is None:
            continue
        mark_overdue(timer_task)
        for host in timer_task.parent.children if timer_task.parent is not None else []:
            if host.task_spec.bpmn_id == attached_to and host.state & _ACTIVE_STATES:
                mark_overdue(host)
                late_hosts.add(host.id)
    for uuid, due_at in session.execute(select(HumanTask.task_uuid, HumanTask.due_at).where(
            HumanTask.instance_id == row.id, HumanTask.status == READY)):
        task = top.get_task_from_id(UUID(uuid))
        if task is not None and ((due_at is not None and due_at < now) or late_hosts & _enclosing(top, task)):
            mark_overdue(task)
    for entry in marks.values():  # overdue wins over the other marks, active over completed
        entry.active -= entry.overdue
        entry.completed -= entry.overdue | entry.active
    return marks


def case_diagram(session: Session, case: Case, now: datetime) -> dict[str, Any]:
    """The JSON the case page's viewer loads."""
    row = case.instance
    if row is None:
        return {"case_no": case.case_no, "version": None, "diagrams": []}
    files = process_files(row.deployment)
    diagrams = []
    for process_id, entry in element_marks(session, row, now).items():
        source = files.get(process_id)
        if source is None:
            continue
        diagrams.append({"process": process_id, "name": source.name, "file": source.file, "xml": source.xml,
                         "completed": sorted(entry.completed), "active": sorted(entry.active),
                         "overdue": sorted(entry.overdue)})
    return {"case_no": case.case_no, "version": row.deployment.version, "diagrams": diagrams}


def diagram_for(session: Session, user: User, case_no: str) -> dict[str, Any] | None:
    """The diagram JSON of a case ``user`` may see, else None (answered 404)."""
    case = visible_case(session, user, case_no)
    return None if case is None else case_diagram(session, case, current_clock().now())
