"""The supervision board (R12, 效能监督): overdue and escalated cases across departments,
the warnings of today, open cases per department and stage — and the 督办 (urge) action,
recorded in the case's history and sent to the department's leads in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from calendars import SHANGHAI
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from workflows.clock import current_clock
from workflows.engine import lock_instance
from workflows.tables import FIRED, WAITING, Timer

from ..models import Case, CaseEvent, CaseStage, CaseStatus, Department, Role, User
from . import notifications
from .case_history import record
from .case_labels import clock_label
from .working_days import days_left

MAX_MESSAGE_LENGTH = 500
PER_PAGE = 50
BOARD_STAGES = [stage for stage in CaseStage if stage is not CaseStage.CLOSED]


@dataclass
class Missed:
    clock: str
    due_at: datetime
    days_over: int  # working days since the deadline

    @property
    def label(self) -> str:
        return clock_label(self.clock)


@dataclass
class OverdueCase:
    case: Case
    missed: list[Missed]
    last_urged_at: datetime | None


@dataclass
class Warning:
    case: Case
    clock: str
    due_at: datetime
    fired: bool

    @property
    def label(self) -> str:
        return clock_label(self.clock)


@dataclass
class Board:
    overdue: list[OverdueCase]
    overdue_total: int
    page: int
    pages: int
    warnings: list[Warning]
    # department name -> stage -> open cases; and the totals per stage
    counts: list[tuple[Department, dict[CaseStage, int], int]] = field(default_factory=list)
    stage_totals: dict[CaseStage, int] = field(default_factory=dict)
    stages: list[CaseStage] = field(default_factory=lambda: list(BOARD_STAGES))


def _today(now: datetime) -> tuple[datetime, datetime]:
    day = now.astimezone(SHANGHAI).date()
    start = datetime.combine(day, time.min, SHANGHAI)
    return start, start + timedelta(days=1)


def _overdue(session: Session, now: datetime, page: int) -> tuple[list[OverdueCase], int]:
    where = (Case.status == CaseStatus.OPEN, Case.overdue.is_(True))
    total = session.scalar(select(func.count()).select_from(Case).where(*where)) or 0
    cases = list(session.scalars(select(Case).where(*where).options(joinedload(Case.department))
                                 .order_by(Case.received_at, Case.id)
                                 .offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
    by_instance = {case.instance_id: case for case in cases}
    missed: dict[int, list[Missed]] = {case.id: [] for case in cases}
    if cases:
        for timer in session.scalars(select(Timer).where(
                Timer.instance_id.in_(list(by_instance)), Timer.kind == "deadline", Timer.status == FIRED)
                .order_by(Timer.due_at)):
            days, _provisional = days_left(now, timer.due_at)
            missed[by_instance[timer.instance_id].id].append(Missed(timer.clock or "", timer.due_at, max(-days, 0)))
        urged = dict(session.execute(select(CaseEvent.case_id, func.max(CaseEvent.occurred_at))
                                     .where(CaseEvent.case_id.in_(list(missed)), CaseEvent.event == "case_urged")
                                     .group_by(CaseEvent.case_id)).all())
    else:
        urged = {}
    return [OverdueCase(case, missed[case.id], urged.get(case.id)) for case in cases], total


def _warnings(session: Session, now: datetime) -> list[Warning]:
    """Warning timers due today and still waiting, and those that fired today."""
    start, end = _today(now)
    rows = session.execute(
        select(Timer, Case).join(Case, Case.instance_id == Timer.instance_id)
        .where(Timer.kind == "warning", Case.status == CaseStatus.OPEN,
               or_(and_(Timer.status == WAITING, Timer.due_at >= start, Timer.due_at < end),
                   and_(Timer.status == FIRED, Timer.fired_at >= start, Timer.fired_at < end)))
        .options(joinedload(Case.department)).order_by(Timer.due_at, Timer.id)).all()
    return [Warning(case, timer.clock or "", timer.due_at, timer.status == FIRED) for timer, case in rows]


def _counts(session: Session) -> tuple[list[tuple[Department, dict[CaseStage, int], int]], dict[CaseStage, int]]:
    """Open cases per department and stage: one grouped query."""
    rows = session.execute(select(Department, Case.stage, func.count(Case.id))
                           .join(Case, Case.department_id == Department.id)
                           .where(Case.status == CaseStatus.OPEN)
                           .group_by(Department.id, Case.stage)
                           .order_by(Department.name)).all()
    table: dict[int, tuple[Department, dict[CaseStage, int]]] = {}
    totals: dict[CaseStage, int] = {}
    for department, stage, count in rows:
        table.setdefault(department.id, (department, {}))[1][stage] = count
        totals[stage] = totals.get(stage, 0) + count
    return [(dept, stages, sum(stages.values())) for dept, stages in table.values()], totals


def board(session: Session, page: int = 1) -> Board:
    now = current_clock().now()
    page = max(page, 1)
    overdue, total = _overdue(session, now, page)
    counts, totals = _counts(session)
    return Board(overdue=overdue, overdue_total=total, page=page, pages=max((total + PER_PAGE - 1) // PER_PAGE, 1),
                 warnings=_warnings(session, now), counts=counts, stage_totals=totals)


class UrgeError(ValueError):
    """The urge is refused; ``field`` names the input at fault (or is empty)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def urge(session: Session, case: Case, by: User, message: str | None) -> CaseEvent:
    """督办: record ``case_urged`` and notify the department's leads, in the caller's
    transaction (the caller commits once)."""
    if not by.has_role(Role.SUPERVISOR):
        raise PermissionError("只有效能监督员可以督办")
    text = (message or "").strip()
    if not text:
        raise UrgeError("督办意见：此项为必填项", "message")
    if len(text) > MAX_MESSAGE_LENGTH:
        raise UrgeError(f"督办意见：不能超过{MAX_MESSAGE_LENGTH}个字符（当前{len(text)}个）", "message")
    if case.status is CaseStatus.CLOSED:
        raise UrgeError("该工单已办结，无需督办")
    if case.instance_id is not None:
        lock_instance(session, case.instance_id)  # the history's sequence numbers are per case
    event = record(session, case, "case_urged", actor=by, data={"message": text})
    notifications.urged(session, case, by, text)
    return event
