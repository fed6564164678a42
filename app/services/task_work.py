"""Working one task: what its page shows (the form beside a summary of the case), and
submitting it — a stale submission (the task was completed meanwhile) changes nothing.

Only those who may see the case see the task (others get a 404, ``case_access``); the
citizen's contact is shown in full only to the holder of a contact or return-visit task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calendars import SHANGHAI
from sqlalchemy import case as sql_case, select
from sqlalchemy.orm import Session

from workflows.forms import FormDefinition
from workflows.tables import READY, HumanTask

from .. import privacy
from ..models import Case, CaseComment, CaseStage, Dimension, EvidenceFile, Level, User
from . import case_tasks, case_notes
from .case_access import can_view_case, may_see_contact
from .engine_runtime import forms_of
from .inbox import STAGE_CLOCKS


class NotVisible(LookupError):
    """No such task or case for this user (answered as 404, never as 403)."""


class StaleTask(case_tasks.TaskError):
    """The task was completed (or cancelled) meanwhile; nothing was changed."""


STALE_MESSAGE = "该任务已由他人办理"


@dataclass
class Contact:
    real_name: bool
    full: bool  # shown unmasked (the holder of a contact or return-visit task)
    name: str
    phone: str
    id_no: str


@dataclass
class CaseSummary:
    case: Case
    level: Level
    dimensions: list[Dimension]
    comment: str | None
    item: str
    item_code: str
    department: str
    stage: CaseStage
    contact: Contact
    open_tasks: list[HumanTask]

    def as_json(self) -> dict[str, Any]:
        case, iso = self.case, (lambda moment: moment.astimezone(SHANGHAI).isoformat() if moment else None)
        return {
            "case_no": case.case_no, "status": case.status.value, "stage": case.stage.value,
            "stage_label": self.stage.label, "level": self.level.label, "level_code": self.level.national_code,
            "dimensions": [d.label for d in self.dimensions], "comment": self.comment,
            "service_item": {"code": self.item_code, "name": self.item}, "department": self.department,
            "received_at": iso(case.received_at), "overdue": case.overdue, "is_complex": case.is_complex,
            "deadlines": {"contact": iso(case.contact_due_at), "rectify": iso(case.rectify_due_at),
                          "close": iso(case.close_due_at), "provisional": case.deadlines_provisional},
            "contact": {"real_name": self.contact.real_name, "masked": not self.contact.full,
                        "name": self.contact.name, "phone": self.contact.phone, "id_no": self.contact.id_no},
            "open_tasks": [{"id": t.id, "task": t.bpmn_id, "name": t.name, "role": t.role,
                            "due_at": iso(t.due_at), "claimed": t.claimed_by is not None}
                           for t in self.open_tasks],
        }


def _open_tasks(session: Session, case: Case) -> list[HumanTask]:
    return list(session.scalars(select(HumanTask).where(
        HumanTask.instance_id == case.instance_id, HumanTask.status == READY).order_by(HumanTask.id)))


def case_summary(session: Session, user: User, case: Case) -> CaseSummary:
    """The case as a task page or the API shows it, the contact masked unless ``user``
    holds the case's open contact or return-visit task."""
    rating = case.rating
    open_tasks = _open_tasks(session, case) if case.instance_id is not None else []
    full = any(may_see_contact(user, task) for task in open_tasks)
    name, phone, id_no = rating.evaluator_name, rating.evaluator_phone, rating.evaluator_id_no
    contact = Contact(rating.real_name, full, name or "", phone or "", id_no or "") if full else Contact(
        rating.real_name, False, privacy.mask_name(name), privacy.mask_phone(phone), privacy.mask_id_no(id_no))
    return CaseSummary(case=case, level=rating.level, dimensions=rating.dimensions, comment=rating.comment,
                       item=rating.service_item.name, item_code=rating.service_item.code,
                       department=case.department.name, stage=case.stage, contact=contact,
                       open_tasks=open_tasks)


def visible_case(session: Session, user: User, case_no: str) -> Case:
    case = session.scalar(select(Case).where(Case.case_no == case_no))
    if case is None or not can_view_case(session, user, case):
        raise NotVisible(case_no)
    return case


def visible_task(session: Session, user: User, task_id: int) -> tuple[HumanTask, Case]:
    task = session.get(HumanTask, task_id)
    case = session.scalar(select(Case).where(Case.instance_id == task.instance_id)) if task else None
    if task is None or case is None or not can_view_case(session, user, case):
        raise NotVisible(task_id)
    return task, case


@dataclass
class TaskPage:
    task: HumanTask
    case: Case
    summary: CaseSummary
    definition: FormDefinition | None
    refusal: str | None  # why the user may not work it now (None: they may)
    claimer: str | None
    comments: list[CaseComment] = field(default_factory=list)
    evidence: list[EvidenceFile] = field(default_factory=list)
    may_contribute: bool = False

    @property
    def can_work(self) -> bool:
        return self.refusal is None and self.definition is not None

    @property
    def deadline(self) -> datetime | None:
        """The task's deadline timer, else (it fired) its stage's clock on the case."""
        column = STAGE_CLOCKS.get(self.task.stage or "")
        return self.task.due_at or (getattr(self.case, column) if column else None)


def task_page(session: Session, user: User, task_id: int) -> TaskPage:
    task, case = visible_task(session, user, task_id)
    refusal = case_tasks.refusal(session, user, task, case)
    if refusal is None and task.claimed_by not in (None, user.id):
        refusal = "该任务已被他人认领"
    definition = forms_of(case.instance.deployment).get(task.form or "") if case.instance else None
    claimer = session.get(User, task.claimed_by).display_name if task.claimed_by else None
    return TaskPage(task=task, case=case, summary=case_summary(session, user, case), definition=definition,
                    refusal=refusal, claimer=claimer, comments=case_notes.list_comments(session, case),
                    evidence=case_notes.list_evidence(session, case),
                    may_contribute=case_notes.may_contribute(session, user, case))


def form_definition(session: Session, user: User, task_id: int) -> FormDefinition | None:
    task, case = visible_task(session, user, task_id)
    return forms_of(case.instance.deployment).get(task.form or "") if case.instance else None


def submit(session: Session, user: User, task_id: int, values: dict[str, Any]) -> Case:
    """Complete the task with the submitted ``values`` (validated by its form definition).

    Raises :class:`NotVisible`, :class:`StaleTask` (completed meanwhile),
    ``case_tasks.FormInvalid`` or ``case_tasks.TaskError``; the caller commits on success
    and rolls back otherwise.
    """
    task, _case = visible_task(session, user, task_id)
    if task.status != READY:
        raise StaleTask(STALE_MESSAGE)
    try:
        return case_tasks.complete(session, task_id, values, user)
    except case_tasks.FormInvalid:
        raise
    except case_tasks.TaskError as error:
        if task.status != READY:  # read again under the instance's lock by complete()
            raise StaleTask(STALE_MESSAGE) from error
        raise


def next_task(session: Session, user: User, case: Case) -> HumanTask | None:
    """The case's next READY task this user may work: one they hold first, then one they may take."""
    candidates = session.scalars(select(HumanTask).where(
        HumanTask.instance_id == case.instance_id, HumanTask.status == READY,
        (HumanTask.claimed_by.is_(None)) | (HumanTask.claimed_by == user.id))
        .order_by(sql_case((HumanTask.claimed_by == user.id, 0), else_=1), HumanTask.id))
    for task in candidates:
        if case_tasks.refusal(session, user, task, case) is None:
            return task
    return None


def claim(session: Session, user: User, task_id: int) -> HumanTask:
    """Claim a task the user can see (``NotVisible`` otherwise; ``TaskError`` if refused)."""
    visible_task(session, user, task_id)
    return case_tasks.claim(session, task_id, user)


def unclaim(session: Session, user: User, task_id: int) -> HumanTask:
    visible_task(session, user, task_id)
    return case_tasks.unclaim(session, task_id, user)


def reassign(session: Session, user: User, task_id: int, to_user_id: int) -> HumanTask:
    """A lead gives the task to a colleague (``case_tasks.reassign`` checks who may)."""
    visible_task(session, user, task_id)
    colleague = session.get(User, to_user_id)
    if colleague is None or not colleague.active:
        raise case_tasks.TaskError("转派对象不存在或已停用")
    return case_tasks.reassign(session, task_id, colleague, user)
