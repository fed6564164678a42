"""Cases: one per bad rating, run by a ``bad_review`` process instance (DESIGN.md §5)."""

from __future__ import annotations

from datetime import datetime

import calendars
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.tables import RUNNING, WAITING, ProcessInstance, Timer

from ..models import Case, CaseStage, CaseStatus, Rating
from . import calendar_years
from .case_history import record, register
from .engine_runtime import current_deployment, make_engine
from .province_records import enqueue_milestone

PROCESS_ID = "bad_review"
CONTACT_DAYS, RECTIFY_DAYS, COMPLEX_DAYS = 3, 5, 15  # R7


class CaseError(ValueError):
    """A case operation is refused; nothing was changed."""


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def case_number(rating: Rating) -> str:
    """CP + date received (Beijing) + the rating's number: unique, readable, sortable."""
    return f"CP{rating.received_at.astimezone(calendars.SHANGHAI):%Y%m%d}{rating.id:07d}"


def _planned_deadline(received_at: datetime, days: int) -> tuple[datetime, bool]:
    """The deadline, or a provisional one (weekends and 1 January off) while a needed
    calendar year is missing (DESIGN.md §3); the flag says which."""
    try:
        return calendars.deadline(received_at, days), False
    except calendars.CalendarYearMissing:
        return calendars.provisional_deadline(received_at, days)


def process_start_data(case_no: str, rating: Rating) -> dict[str, object]:
    """What a case's process starts with (bpmn/README.md, variables)."""
    return {"case_no": case_no, "department_id": rating.department_id, "real_name": rating.real_name,
            "level": rating.level.value, "received_at": rating.received_at.astimezone(calendars.SHANGHAI).isoformat()}


def open_case(session: Session, rating: Rating) -> Case:
    """Open the case of a bad rating and start its process, in the caller's transaction
    (intake commits the rating, its case and the first tasks together)."""
    if not rating.level.is_bad:
        raise CaseError(f"rating {rating.id} is {rating.level.label}: only 不满意 and 非常不满意 open a case")
    with session.no_autoflush:
        if session.scalar(select(Case.id).where(Case.rating_id == rating.id)) is not None:
            raise CaseError(f"rating {rating.id} already has a case")
        calendar_years.sync_calendar(session)
    if rating.id is None:
        session.flush()  # the case number carries the rating's id
    contact_due, contact_provisional = _planned_deadline(rating.received_at, CONTACT_DAYS)
    rectify_due, rectify_provisional = _planned_deadline(rating.received_at, RECTIFY_DAYS)
    case = Case(case_no=case_number(rating), rating=rating, department_id=rating.department_id,
                status=CaseStatus.OPEN, stage=CaseStage.ROUTING, received_at=rating.received_at,
                contact_due_at=contact_due if rating.real_name else None, rectify_due_at=rectify_due,
                deadlines_provisional=contact_provisional or rectify_provisional)
    session.add(case)
    register(session, case)
    record(session, case, "case_opened", data={
        "rating_id": rating.id, "level": rating.level.value, "real_name": rating.real_name,
        "department_id": rating.department_id, "received_at": rating.received_at.isoformat(),
        "deadlines_provisional": case.deadlines_provisional})
    deployment = current_deployment(session)
    with session.no_autoflush:  # case, instance, tasks and timers go in one flush below
        instance = make_engine(session).start(deployment, PROCESS_ID, case.case_no,
                                              process_start_data(case.case_no, rating))
        case.instance = instance
    session.flush()  # ids for the history, and for the caller
    enqueue_milestone(session, case, "opened", level=rating.level.national_code)
    record(session, case, "instance_started", data={"instance_id": instance.id, "process": PROCESS_ID,
                                                   "version": deployment.version})
    return case


def recompute_open_deadlines(session: Session) -> int:
    """After calendar data changed: re-evaluate the waiting timers of every running case
    (each move is recorded as ``deadline_recomputed``). Returns the instances looked at."""
    calendar_years.sync_calendar(session)
    ids = session.scalars(select(ProcessInstance.id).where(ProcessInstance.status == RUNNING)
                          .order_by(ProcessInstance.id)).all()
    engine = make_engine(session)
    for instance_id in ids:
        loaded = engine.load(instance_id)
        if loaded is not None:
            engine.recompute_timers(loaded)
    # A rectification clock that has not started yet is a planned deadline on the case row:
    # compute it again too; and mark each case provisional while anything it shows still is.
    started = select(Timer.instance_id).where(Timer.clock == "rectify")
    provisional_timers = set(session.scalars(select(Timer.instance_id).where(
        Timer.status == WAITING, Timer.kind == "deadline", Timer.provisional.is_(True))))
    for case in session.scalars(select(Case).where(Case.status == CaseStatus.OPEN)):
        planned_provisional = False
        if case.instance_id not in set(session.scalars(started.where(Timer.instance_id == case.instance_id))):
            rectify, planned_provisional = _planned_deadline(
                case.received_at, COMPLEX_DAYS if case.is_complex else RECTIFY_DAYS)
            if rectify != case.rectify_due_at:
                record(session, case, "deadline_recomputed", data={
                    "clock": "rectify", "kind": "planned", "old": _iso(case.rectify_due_at),
                    "new": rectify.isoformat(), "provisional": planned_provisional})
                case.rectify_due_at = rectify
        flag = planned_provisional or case.instance_id in provisional_timers
        if flag != case.deadlines_provisional:
            case.deadlines_provisional = flag
            record(session, case, "deadlines_confirmed" if not flag else "deadlines_marked_provisional",
                   data={"contact_due_at": _iso(case.contact_due_at), "rectify_due_at": _iso(case.rectify_due_at)})
    return len(ids)
