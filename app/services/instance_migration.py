"""Moving running cases to a newer deployed version (issue 7): which instances can move
safely and why the others cannot, and the move itself — one instance per transaction, under
its lock, with its timers re-evaluated and an ``instance_migrated`` history event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from SpiffWorkflow.exceptions import TaskNotFoundException

from workflows.engine import DEPARTMENT_ROLES, LANE_ROLES, Engine, EngineError, Loaded, ScriptFailure
from workflows.migration import MigrationRefused, migrate, migration_problems
from workflows.scripting import make_script_engine
from workflows.serializer import InstanceSerializer
from workflows.specs import BpmnFileError, ProcessSpecs
from workflows.tables import ERRORED, READY, RUNNING, TIMER_KINDS, WAITING, Deployment, ProcessInstance

from ..models import Case, CaseStage, User
from .case_history import record, register
from .engine_runtime import SPECS, make_engine

PAGE_SIZE = 100
_SERIALIZER = InstanceSerializer()


@dataclass
class Candidate:
    instance_id: int
    case_no: str
    process_id: str
    from_version: int
    status: str
    reasons: list[str] = field(default_factory=list)

    @property
    def movable(self) -> bool:
        return not self.reasons


@dataclass
class MigrationPlan:
    target: Deployment
    candidates: list[Candidate]
    total: int  # instances on older versions (the page shows at most PAGE_SIZE)

    @property
    def movable(self) -> list[Candidate]:
        return [c for c in self.candidates if c.movable]


def _specs(deployment: Deployment, process_id: str) -> ProcessSpecs:
    return SPECS.get(deployment.id, lambda: deployment.bpmn_files, process_id, deployment.sha256)


def _older(target: Deployment):  # type: ignore[no-untyped-def]
    return (select(ProcessInstance).join(Deployment, ProcessInstance.deployment_id == Deployment.id)
            .where(ProcessInstance.status.in_((RUNNING, ERRORED)), Deployment.version < target.version))


def plan(session: Session, target: Deployment, limit: int = PAGE_SIZE) -> MigrationPlan:
    """The unfinished instances on versions older than ``target``, each with the reasons it
    cannot move (none: it can). Read only: nothing is locked or changed."""
    total = session.scalar(_older(target).with_only_columns(func.count())) or 0
    rows = session.scalars(_older(target).order_by(ProcessInstance.id).limit(limit)).all()
    return MigrationPlan(target, [_candidate(row, target) for row in rows], total)


def _candidate(row: ProcessInstance, target: Deployment) -> Candidate:
    candidate = Candidate(row.id, row.business_key, row.process_id, row.deployment.version, row.status)
    candidate.reasons = _reasons(row, target)
    return candidate


def _reasons(row: ProcessInstance, target: Deployment) -> list[str]:
    if row.status == ERRORED:
        return ["实例出错，等待管理员处理后才能迁移"]
    if row.status != RUNNING:
        return ["实例已结束"]
    if row.deployment.version >= target.version:
        return [f"已在版本 {row.deployment.version} 上"]
    try:
        new = _specs(target, row.process_id)
    except BpmnFileError:
        return [f"版本 {target.version} 中没有流程“{row.process_id}”"]
    workflow = _SERIALIZER.load(row.state, _specs(row.deployment, row.process_id), make_script_engine())
    return migration_problems(workflow, new)


class MoveRefused(RuntimeError):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("；".join(reasons))
        self.reasons = reasons


def move(session: Session, instance_id: int, target: Deployment, user: User) -> ProcessInstance:
    """Move one instance to ``target``: reset its waiting tasks and timers onto the new
    version, run the engine, mirror the rows, record the history. The caller commits (or
    rolls back on :class:`MoveRefused`)."""
    engine = make_engine(session)
    try:
        loaded = engine.load(instance_id)
    except EngineError:
        raise MoveRefused(["实例不存在"]) from None
    assert loaded is not None
    row = loaded.row
    if row.status != RUNNING or row.deployment.version >= target.version:
        raise MoveRefused(_reasons(row, target))
    try:
        new = _specs(target, row.process_id)
    except BpmnFileError:
        raise MoveRefused([f"版本 {target.version} 中没有流程“{row.process_id}”"]) from None
    case = session.scalar(select(Case).where(Case.case_no == row.business_key))
    if case is not None:
        register(session, case)
        # Recorded before what the move causes (its timers, its tasks), as an input the
        # replay of the case re-applies (app/services/case_replay.py).
        record(session, case, "instance_migrated", actor=user, data={
            "instance_id": row.id, "process": row.process_id, "from_version": row.deployment.version,
            "to_version": target.version, "deployment_id": target.id})
    apply_move(engine, loaded, target, new)
    _refresh_rows(loaded, case)
    session.flush()
    return row


def apply_move(engine: Engine, loaded: Loaded, target: Deployment, new: ProcessSpecs | None = None) -> None:
    """The move itself on a loaded instance: onto the new specs, run, re-evaluate the timers
    and mirror the rows. Shared by :func:`move` and the replay of a case's history."""
    if new is None:
        new = _specs(target, loaded.row.process_id)
    try:
        migrate(loaded.workflow, new)
        loaded.workflow.do_engine_steps()
    except MigrationRefused as refused:
        raise MoveRefused(refused.reasons) from None
    except Exception as error:  # a script of the new version failed while the engine ran
        raise MoveRefused([f"新版本运行出错：{type(error).__name__}: {error}"]) from None
    loaded.row.deployment = target
    try:
        engine.recompute_timers(loaded)  # re-evaluates the timers, mirrors tasks and timers, saves
    except ScriptFailure as failure:
        raise MoveRefused([f"新版本的定时器求值出错：{failure}"]) from None


def _spiff_task(loaded: Loaded, uuid: str) -> Any:
    try:
        return loaded.workflow.get_task_from_id(UUID(uuid))
    except TaskNotFoundException:  # a row of a task the move replaced
        return None


def _properties(spiff: Any) -> dict[str, str]:
    extensions = getattr(spiff.task_spec, "extensions", None) or {}
    return dict(extensions.get("properties", {}))


def _refresh_rows(loaded: Loaded, case: Case | None) -> None:
    """Open task and waiting timer rows take the names and properties of the new version. A
    task whose role or department changed is offered afresh (its claim is released); the
    case takes the stage of its open task."""
    for task in loaded.tasks.values():
        spiff = _spiff_task(loaded, task.task_uuid)
        if spiff is None or task.status != READY:
            continue
        spec, props = spiff.task_spec, _properties(spiff)
        role = LANE_ROLES.get(spec.lane or "")
        department = spiff.data.get("department_id", loaded.workflow.data.get("department_id"))
        department_id = int(department) if role in DEPARTMENT_ROLES and department else None
        if (role, department_id) != (task.role, task.department_id):
            task.claimed_by = task.claimed_at = None
        task.name, task.lane, task.role, task.department_id = (spec.bpmn_name or spec.bpmn_id)[:100], spec.lane, \
            role, department_id
        task.form, task.stage = props.get("form"), props.get("stage")
        if case is not None and task.stage in {stage.value for stage in CaseStage}:
            case.stage = CaseStage(task.stage)
    for timer in loaded.timers.values():
        spiff = _spiff_task(loaded, timer.task_uuid)
        if spiff is None or timer.status != WAITING:
            continue
        props = _properties(spiff)
        kind = props.get("timerKind", "other")
        timer.name = (spiff.task_spec.bpmn_name or spiff.task_spec.bpmn_id)[:100]
        timer.kind, timer.clock = (kind if kind in TIMER_KINDS else "other"), props.get("clock")


@dataclass
class BatchResult:
    moved: list[str] = field(default_factory=list)
    refused: dict[str, list[str]] = field(default_factory=dict)


def move_all(session: Session, target: Deployment, user: User, limit: int = PAGE_SIZE) -> BatchResult:
    """Move every movable instance of the plan, each in a transaction of its own."""
    result = BatchResult()
    candidates = plan(session, target, limit).candidates
    session.commit()
    for candidate in candidates:
        if not candidate.movable:
            result.refused[candidate.case_no] = candidate.reasons
            continue
        try:
            move(session, candidate.instance_id, target, user)
            session.commit()
            result.moved.append(candidate.case_no)
        except MoveRefused as refused:
            session.rollback()
            result.refused[candidate.case_no] = refused.reasons
    return result
