"""Working a case's tasks: claim, unclaim, reassign, complete — each with its role and
department checks, under the instance's lock, with its history event."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.clock import current_clock
from workflows.engine import ScriptFailure, lock_instance
from workflows.form_values import validate_submission
from workflows.tables import DONE, READY, HumanTask

from ..models import Case, Role, User
from .case_history import record, register
from .engine_runtime import forms_of, make_engine
from .province_records import enqueue_milestone, milestone_of_task

# Task ids whose completion has a name of its own in the history.
EVENT_OF_TASK = {"file_appeal": "appeal_filed", "decide_appeal": "appeal_decided",
                 "consider_recheck": "recheck_considered", "decide_recheck": "recheck_decided",
                 "request_complex": "case_marked_complex", "supervisor_decide": "supervisor_decided"}


class TaskError(PermissionError):
    """The task cannot be worked by this user now; nothing was changed."""


class FormInvalid(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _locked(session: Session, task_id: int) -> tuple[HumanTask, Case]:
    task = session.get(HumanTask, task_id)
    if task is None:
        raise TaskError("任务不存在")
    lock_instance(session, task.instance_id)
    session.flush()
    session.refresh(task)  # as it is now that we hold the lock
    case = session.scalar(select(Case).where(Case.instance_id == task.instance_id))
    if case is None:
        raise TaskError("任务不属于任何工单")
    register(session, case)
    return task, case


def _appeal_decider(session: Session, task: HumanTask) -> int | None:
    return session.scalar(select(HumanTask.completed_by).where(
        HumanTask.instance_id == task.instance_id, HumanTask.bpmn_id == "decide_appeal",
        HumanTask.status == DONE).order_by(HumanTask.completed_at.desc()).limit(1))


def refusal(session: Session, user: User, task: HumanTask, case: Case) -> str | None:
    """Why ``user`` may not work ``task`` (None: they may)."""
    if task.status != READY:
        return "该任务已办结或已取消"
    if task.role is None or not user.has_role(Role(task.role)):
        return f"需要{Role(task.role).label if task.role else '相应'}角色"
    if task.department_id is not None and user.department_id != task.department_id:
        return "该任务属于其他部门"
    if task.role == Role.VERIFIER.value:
        if user.department_id == case.department_id:
            return "审核员不能审核本部门的申诉"  # R10
        if task.stage == "recheck" and _appeal_decider(session, task) == user.id:
            return "复核须由另一名审核员办理"  # R10
    return None


def _check(session: Session, user: User, task: HumanTask, case: Case) -> None:
    reason = refusal(session, user, task, case)
    if reason:
        raise TaskError(reason)


def claim(session: Session, task_id: int, user: User) -> HumanTask:
    task, case = _locked(session, task_id)
    _check(session, user, task, case)
    if task.claimed_by not in (None, user.id):
        raise TaskError("该任务已被他人认领")
    task.claimed_by, task.claimed_at = user.id, current_clock().now()
    record(session, case, "task_claimed", actor=user, data={"task": task.bpmn_id, "task_id": task.id})
    return task


def unclaim(session: Session, task_id: int, user: User) -> HumanTask:
    task, case = _locked(session, task_id)
    is_lead = user.has_role(Role.LEAD) and user.department_id == task.department_id
    if task.claimed_by is None or (task.claimed_by != user.id and not is_lead):
        raise TaskError("只能退回自己认领的任务")
    previous, task.claimed_by, task.claimed_at = task.claimed_by, None, None
    record(session, case, "task_unclaimed", actor=user, data={"task": task.bpmn_id, "task_id": task.id,
                                                            "claimed_by": previous})
    return task


def reassign(session: Session, task_id: int, to: User, by: User) -> HumanTask:
    """A department lead gives a task of their department to a colleague."""
    task, case = _locked(session, task_id)
    if not (by.has_role(Role.LEAD) and task.department_id is not None and by.department_id == task.department_id):
        raise TaskError("只有本部门负责人可以转派任务")
    reason = refusal(session, to, task, case)
    if reason:
        raise TaskError(f"不能转派给{to.display_name}：{reason}")
    previous, task.claimed_by, task.claimed_at = task.claimed_by, to.id, current_clock().now()
    record(session, case, "task_reassigned", actor=by, data={"task": task.bpmn_id, "task_id": task.id,
                                                           "from": previous, "to": to.id})
    return task


def complete(session: Session, task_id: int, form_data: dict[str, Any], user: User) -> Case:
    """Validate the form and complete the task; the process runs on to its next tasks.

    A failing process script rolls everything back, marks the instance errored (for an
    administrator to retry) and is reported as a :class:`TaskError`.
    """
    task, case = _locked(session, task_id)
    _check(session, user, task, case)
    if task.claimed_by not in (None, user.id):
        raise TaskError("该任务已被他人认领")
    engine = make_engine(session)
    loaded = engine.load(task.instance_id)
    assert loaded is not None  # the task's instance, locked above
    definition = forms_of(loaded.row.deployment).get(task.form or "")
    if definition is None:
        raise TaskError(f"任务的表单 {task.form} 未定义")
    cleaned, errors = validate_submission(definition, form_data)
    if errors:
        raise FormInvalid(errors)
    if task.bpmn_id == "request_complex":
        case.is_complex, case.complex_reason = True, cleaned.get("complex_reason")
    record(session, case, EVENT_OF_TASK.get(task.bpmn_id, "task_completed"), actor=user,
           data={"task": task.bpmn_id, "task_id": task.id, "form": task.form, "values": cleaned})
    milestone = milestone_of_task(task.bpmn_id, cleaned)
    if milestone is not None:
        enqueue_milestone(session, case, milestone[0], **milestone[1])
    try:
        engine.complete_task(task, cleaned, user.id, loaded=loaded)
    except ScriptFailure as failure:
        session.rollback()
        make_engine(session).mark_errored(failure.instance_id, str(failure))
        session.commit()
        raise TaskError("流程执行出错，已记录并通知管理员；请稍后重试") from failure
    return case
