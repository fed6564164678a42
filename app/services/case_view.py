"""Everything the case page shows, for one user: the rating (evaluator masked, DESIGN.md
§7), service record, department, clocks, open tasks and who holds them, the history
timeline, comments and evidence. A case the user may not see is None (answered 404)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from workflows.clock import current_clock
from workflows.tables import READY, HumanTask

from ..models import Case, CaseComment, EvidenceFile, Rating, Role, ServiceRecord, User
from .case_access import can_view_case
from .case_deadlines import ClockState, clock_states
from .case_notes import list_comments, list_evidence
from .case_timeline import TimelineEntry, timeline
from .working_days import days_left


@dataclass
class OpenTask:
    task: HumanTask
    holder: User | None
    role_label: str
    days: int | None  # working days to the task's deadline (negative: overdue)
    provisional: bool

    @property
    def overdue(self) -> bool:
        return self.days is not None and self.days < 0


@dataclass
class CaseView:
    case: Case
    evaluator: dict[str, str]  # masked name, phone, ID number
    clocks: list[ClockState]
    tasks: list[OpenTask]
    timeline: list[TimelineEntry]
    comments: list[CaseComment]
    evidence: list[EvidenceFile]
    now: datetime


def visible_case(session: Session, user: User, case_no: str) -> Case | None:
    """The case numbered ``case_no`` if ``user`` may see it, else None."""
    case = session.scalar(select(Case).where(Case.case_no == case_no).options(
        joinedload(Case.department),
        joinedload(Case.rating).joinedload(Rating.service_record).joinedload(ServiceRecord.staff_member),
        joinedload(Case.rating).joinedload(Rating.service_item),
        joinedload(Case.rating).joinedload(Rating.staff_member)))
    if case is None or not can_view_case(session, user, case):
        return None
    return case


def open_tasks(session: Session, case: Case, now: datetime) -> list[OpenTask]:
    tasks = list(session.scalars(select(HumanTask).where(HumanTask.instance_id == case.instance_id,
                                                         HumanTask.status == READY).order_by(HumanTask.id)))
    holder_ids = {t.claimed_by for t in tasks if t.claimed_by is not None}
    holders = {u.id: u for u in session.scalars(select(User).where(User.id.in_(holder_ids)))} if holder_ids else {}
    result = []
    for task in tasks:
        days, provisional = days_left(now, task.due_at) if task.due_at else (None, False)
        role = Role(task.role).label if task.role in {r.value for r in Role} else "—"
        result.append(OpenTask(task, holders.get(task.claimed_by) if task.claimed_by else None, role, days,
                               provisional))
    return result


def case_view(session: Session, user: User, case_no: str) -> CaseView | None:
    case = visible_case(session, user, case_no)
    if case is None:
        return None
    now = current_clock().now()
    rating = case.rating
    evaluator = {"name": rating.masked_evaluator_name, "phone": rating.masked_evaluator_phone,
                 "id_no": rating.masked_evaluator_id_no,
                 "id_type": rating.evaluator_id_type.label if rating.evaluator_id_type else ""}
    return CaseView(case=case, evaluator=evaluator, clocks=clock_states(session, case, now),
                    tasks=open_tasks(session, case, now), timeline=timeline(session, case),
                    comments=list_comments(session, case), evidence=list_evidence(session, case), now=now)
