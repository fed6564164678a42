"""Case figures of a period (cases opened for bad ratings received in it), aggregated in
SQL from the case rows, the engine's task and timer rows and the history (definitions:
``report_figures``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from workflows.tables import DONE, HumanTask, Timer

from ..models import Case, CaseEvent, CaseOutcome, CaseStage, CaseStatus, Rating
from .report_period import Period, in_period
from .report_ratings import Grouping, group_keys, percent, row_key

PAUSED_STAGES = (CaseStage.APPEAL, CaseStage.RECHECK)  # the rectification clock is paused (DESIGN.md §5)
AT_TRIAGE = (CaseStage.ROUTING, CaseStage.ON_SPOT)
HISTORY_EVENTS = ("task_completed", "appeal_filed", "appeal_decided", "recheck_decided")
TASKS = ("contact_citizen", "rectify", "file_record")


@dataclass
class CaseFigures:
    opened: int = 0  # cases opened for bad ratings received in the period
    excluded: int = 0  # their rating excluded by an upheld appeal: left out of every figure below
    on_spot: int = 0  # closed as resolved on the spot (R6)
    complex: int = 0
    contact_due: int = 0  # real-name cases whose contact is done or whose contact deadline has passed
    contacted_on_time: int = 0
    contacted_late: int = 0
    rectify_due: int = 0  # cases in rectification whose report is in or whose deadline has passed
    rectified_on_time: int = 0
    rectified_late: int = 0
    close_due: int = 0  # closed cases, and open ones past their deadline (not paused by an appeal)
    closed: int = 0
    closed_on_time: int = 0
    open: int = 0
    overdue_open: int = 0  # open and marked overdue (a deadline was missed): overdue now
    overdue_ever: int = 0
    real_name: int = 0
    real_name_due: int = 0  # real-name cases closed or past their deadline (R8)
    real_name_done: int = 0  # … with a return visit that reached the citizen and a filed record
    appeals_filed: int = 0
    appeals_upheld: int = 0
    appeals_rejected: int = 0
    rechecks: int = 0
    rechecks_overturned: int = 0

    @property
    def valid(self) -> int:
        return self.opened - self.excluded

    @property
    def contact_rate(self) -> Decimal | None:
        return percent(self.contacted_on_time, self.contact_due)

    @property
    def rectify_rate(self) -> Decimal | None:
        return percent(self.rectified_on_time, self.rectify_due)

    @property
    def close_rate(self) -> Decimal | None:
        return percent(self.closed_on_time, self.close_due)

    @property
    def real_name_rate(self) -> Decimal | None:
        return percent(self.real_name_done, self.real_name_due)

    def add(self, other: CaseFigures) -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def as_dict(self) -> dict[str, Any]:
        rates = {"contact_rate": self.contact_rate, "rectify_rate": self.rectify_rate,
                 "close_rate": self.close_rate, "real_name_rate": self.real_name_rate}
        return {**asdict(self), "valid": self.valid,
                **{name: float(value) if value is not None else None for name, value in rates.items()}}


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _facts(period: Period, grouping: Grouping, department_id: int | None) -> Any:
    """One row per case of the period with what the figures need to know of it."""
    cohort = select(Case.id).where(in_period(period, Case.received_at))
    if department_id is not None:
        cohort = cohort.where(Case.department_id == department_id)
    tasks = (select(HumanTask.instance_id.label("instance_id"),
                    func.min(case((and_(HumanTask.bpmn_id == "contact_citizen", HumanTask.status == DONE),
                                   HumanTask.completed_at))).label("contacted_at"),
                    func.max(case((HumanTask.bpmn_id == "contact_citizen", 1), else_=0)).label("contact_task"),
                    func.max(case((HumanTask.bpmn_id == "rectify", 1), else_=0)).label("rectify_task"),
                    func.max(case((and_(HumanTask.bpmn_id == "file_record", HumanTask.status == DONE), 1),
                                  else_=0)).label("filed"))
             .where(HumanTask.instance_id.in_(select(Case.instance_id).where(Case.id.in_(cohort))),
                    HumanTask.bpmn_id.in_(TASKS))
             .group_by(HumanTask.instance_id).subquery("case_tasks"))
    event, task = CaseEvent.event, CaseEvent.data["task"].as_string()
    completed = event == "task_completed"
    decision = CaseEvent.data[("values", "appeal_decision")].as_string()
    history = (select(
        CaseEvent.case_id.label("case_id"),
        func.min(case((and_(completed, task == "rectify",
                            CaseEvent.data[("values", "action")].as_string() == "report"), CaseEvent.occurred_at)))
        .label("reported_at"),
        func.max(case((and_(completed, task == "return_visit",
                            CaseEvent.data[("values", "visited")].as_boolean().is_(True)), 1), else_=0))
        .label("visited"),
        _count(event == "appeal_filed").label("appeals_filed"),
        _count(and_(event == "appeal_decided", decision == "upheld")).label("appeals_upheld"),
        _count(and_(event == "appeal_decided", decision == "rejected")).label("appeals_rejected"),
        _count(event == "recheck_decided").label("rechecks"),
        _count(and_(event == "recheck_decided",
                    CaseEvent.data[("values", "recheck_decision")].as_string() == "overturned"))
        .label("rechecks_overturned"))
        .where(CaseEvent.case_id.in_(cohort), event.in_(HISTORY_EVENTS))
        .group_by(CaseEvent.case_id).subquery("case_history"))
    return (select(Case.id, Case.instance_id, Case.status, Case.stage, Case.overdue, Case.is_complex, Case.outcome,
                   Case.closed_at, Case.contact_due_at, Case.rectify_due_at, Rating.real_name, Rating.excluded,
                   *(key.label(f"key{n}") for n, key in enumerate(group_keys(grouping))), tasks.c.contacted_at, tasks.c.contact_task, tasks.c.rectify_task,
                   tasks.c.filed, history.c.reported_at, history.c.visited, history.c.appeals_filed,
                   history.c.appeals_upheld, history.c.appeals_rejected, history.c.rechecks,
                   history.c.rechecks_overturned)
            .join(Rating, Rating.id == Case.rating_id)
            .outerjoin(tasks, tasks.c.instance_id == Case.instance_id)
            .outerjoin(history, history.c.case_id == Case.id)
            .where(Case.id.in_(cohort)).subquery("case_facts"))


def case_figures(session: Session, period: Period, grouping: Grouping, as_of: datetime,
                 department_id: int | None = None) -> dict[Any, CaseFigures]:
    """Case figures per group key (a tuple for a composite grouping) for the cases of
    ratings received in ``period``, as the cases stand at ``as_of`` (normally now)."""
    f = _facts(period, grouping, department_id).c
    keys = [getattr(f, f"key{n}") for n in range(len(group_keys(grouping)))]
    # The rectification deadline in force when the report came: the newest rectify deadline
    # timer set by then (5 working days, 15 once complex, the days left after an appeal).
    report_due = (select(Timer.due_at).where(Timer.instance_id == f.instance_id, Timer.clock == "rectify",
                                             Timer.kind == "deadline", Timer.created_at <= f.reported_at)
                  .order_by(Timer.id.desc()).limit(1).scalar_subquery())
    valid = f.excluded.is_(False)
    is_open, closed = f.status == CaseStatus.OPEN, and_(valid, f.status == CaseStatus.CLOSED)
    past_deadline = and_(is_open, f.rectify_due_at <= as_of, f.stage.not_in(PAUSED_STAGES))
    contacted, reported = f.contacted_at.is_not(None), f.reported_at.is_not(None)
    on_time_report = and_(reported, report_due.is_not(None), f.reported_at <= report_due)
    real_name = and_(valid, f.real_name.is_(True))
    real_name_due = and_(real_name, or_(f.status == CaseStatus.CLOSED, past_deadline))
    columns = {
        "opened": func.count(),
        "excluded": _count(f.excluded.is_(True)),
        "on_spot": _count(and_(closed, f.outcome == CaseOutcome.RESOLVED_ON_SPOT)),
        "complex": _count(and_(valid, f.is_complex.is_(True))),
        "contact_due": _count(and_(real_name, or_(contacted, and_(
            f.contact_due_at <= as_of, or_(f.contact_task == 1, and_(is_open, f.stage.in_(AT_TRIAGE))))))),
        "contacted_on_time": _count(and_(real_name, f.contacted_at <= f.contact_due_at)),
        "contacted_late": _count(and_(real_name, f.contacted_at > f.contact_due_at)),
        "rectify_due": _count(and_(valid, f.rectify_task == 1, or_(reported, past_deadline))),
        "rectified_on_time": _count(and_(valid, f.rectify_task == 1, on_time_report)),
        "rectified_late": _count(and_(valid, f.rectify_task == 1, reported, ~on_time_report)),
        "close_due": _count(and_(valid, or_(f.status == CaseStatus.CLOSED, past_deadline))),
        "closed": _count(closed),
        "closed_on_time": _count(and_(closed, f.closed_at <= f.rectify_due_at)),
        "open": _count(and_(valid, is_open)),
        "overdue_open": _count(and_(valid, is_open, f.overdue.is_(True))),
        "overdue_ever": _count(and_(valid, f.overdue.is_(True))),
        "real_name": _count(real_name),
        "real_name_due": _count(real_name_due),
        "real_name_done": _count(and_(real_name_due, f.visited == 1, f.filed == 1)),
        **{name: func.coalesce(func.sum(getattr(f, name)), 0)
           for name in ("appeals_filed", "appeals_upheld", "appeals_rejected", "rechecks", "rechecks_overturned")},
    }
    query = select(*keys, *(column.label(name) for name, column in columns.items())).group_by(*keys)
    return {row_key(grouping, row[:len(keys)]): CaseFigures(**{name: int(getattr(row, name)) for name in columns})
            for row in session.execute(query)}


def open_overdue_by_department(session: Session, department_id: int | None = None) -> dict[int, int]:
    """Open cases marked overdue now, of any period, per department (valid ratings only)."""
    query = (select(Case.department_id, func.count()).join(Rating, Rating.id == Case.rating_id)
             .where(Case.status == CaseStatus.OPEN, Case.overdue.is_(True), Rating.excluded.is_(False))
             .group_by(Case.department_id))
    if department_id is not None:
        query = query.where(Case.department_id == department_id)
    return {dept: count for dept, count in session.execute(query)}
