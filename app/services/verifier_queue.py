"""The verifier queue (R10): appeal and recheck decisions waiting for a verifier.

Who is offered what is decided by ``case_tasks.refusal`` alone — never a case of the
verifier's own department, never a recheck to the verifier who decided the appeal. The
query only narrows the rows to what that function then checks (open verifier tasks not
claimed by somebody else, of other departments' cases).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from workflows.clock import current_clock
from workflows.tables import READY, Deployment, HumanTask, ProcessInstance

from ..models import Case, CaseEvent, Role, User
from .case_tasks import claim, refusal
from .engine_runtime import forms_of
from .working_days import days_since

DECISION_TASKS = ("decide_appeal", "decide_recheck")
KIND_LABELS = {"decide_appeal": "申诉审核", "decide_recheck": "复核"}


@dataclass
class QueueEntry:
    task: HumanTask
    case: Case
    kind: str  # 申诉审核 / 复核
    appeal_reason: str
    appeal_explanation: str
    filed_at: datetime | None
    days_waiting: int
    provisional: bool
    claimed_by_me: bool


def _appeals(session: Session, case_ids: list[int]) -> dict[int, CaseEvent]:
    """The latest appeal filed in each case."""
    latest: dict[int, CaseEvent] = {}
    for event in session.scalars(select(CaseEvent).where(CaseEvent.case_id.in_(case_ids),
                                                         CaseEvent.event == "appeal_filed")
                                 .order_by(CaseEvent.seq)):
        latest[event.case_id] = event
    return latest


def _reason_labels(session: Session, instance_ids: set[int]) -> dict[int, dict[str, str]]:
    """Instance id -> the appeal form's reason choices of the version it runs on."""
    versions = dict(session.execute(select(ProcessInstance.id, ProcessInstance.deployment_id)
                                    .where(ProcessInstance.id.in_(instance_ids))).all())
    choices: dict[int, dict[str, str]] = {}
    for deployment_id in set(versions.values()):
        deployment = session.get(Deployment, deployment_id)
        form = forms_of(deployment).get("appeal") if deployment is not None else None
        field = next((f for f in form.fields if f.name == "appeal_reason"), None) if form else None
        choices[deployment_id] = dict(field.choices) if field else {}
    return {instance_id: choices[deployment_id] for instance_id, deployment_id in versions.items()}


def queue(session: Session, user: User) -> list[QueueEntry]:
    """The decisions ``user`` may take now, oldest first."""
    if not user.has_role(Role.VERIFIER):
        return []
    query = (select(HumanTask, Case).join(Case, Case.instance_id == HumanTask.instance_id)
             .where(HumanTask.status == READY, HumanTask.role == Role.VERIFIER.value,
                    HumanTask.bpmn_id.in_(DECISION_TASKS),
                    or_(HumanTask.claimed_by.is_(None), HumanTask.claimed_by == user.id))
             .options(joinedload(Case.department))
             .order_by(HumanTask.created_at, HumanTask.id))
    if user.department_id is not None:
        query = query.where(Case.department_id != user.department_id)
    rows = [(task, case) for task, case in session.execute(query).all()
            if refusal(session, user, task, case) is None]
    appeals = _appeals(session, [case.id for _, case in rows]) if rows else {}
    reasons = _reason_labels(session, {task.instance_id for task, _ in rows}) if rows else {}
    now = current_clock().now()
    entries = []
    for task, case in rows:
        appeal = appeals.get(case.id)
        values = (appeal.data.get("values") or {}) if appeal else {}
        reason = values.get("appeal_reason")
        days, provisional = days_since(task.created_at, now)
        entries.append(QueueEntry(
            task=task, case=case, kind=KIND_LABELS.get(task.bpmn_id, task.name),
            appeal_reason=reasons.get(task.instance_id, {}).get(str(reason), str(reason)) if reason else "—",
            appeal_explanation=str(values.get("appeal_explanation") or ""),
            filed_at=appeal.occurred_at if appeal else None, days_waiting=days, provisional=provisional,
            claimed_by_me=task.claimed_by == user.id))
    return entries


class QueueError(LookupError):
    """The task is not in this verifier's queue (answered 404)."""


def claim_decision(session: Session, user: User, task_id: int) -> HumanTask:
    """Claim a decision from the queue; only tasks the queue offers (else QueueError).
    The claim itself, with its checks under the instance lock, is ``case_tasks.claim``."""
    task = session.get(HumanTask, task_id)
    if task is None or task.bpmn_id not in DECISION_TASKS or not user.has_role(Role.VERIFIER):
        raise QueueError(task_id)
    case = session.scalar(select(Case).where(Case.instance_id == task.instance_id))
    if case is None or (user.department_id is not None and case.department_id == user.department_id):
        raise QueueError(task_id)
    return claim(session, task_id, user)
