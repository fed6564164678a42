"""A case's history, and the engine listener that keeps the case row in step with its
process: stage, deadlines, overdue flag, outcome — each change with its history event, in
the transaction that made it."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import select
from sqlalchemy.orm import Session, SessionTransaction

from workflows.clock import current_clock
from workflows.engine import EngineListener
from workflows.tables import HumanTask, ProcessInstance, Timer

from ..models import Case, CaseEvent, CaseOutcome, CaseStage, CaseStatus, User
from .history_chain import GENESIS, event_hash
from .province_records import enqueue_milestone

SYSTEM = "system"
TIMER = "timer"
# The appeal form's reasons (bpmn/forms/appeal.json), as the excluded rating records them.
APPEAL_REASONS = {"mistaken": "误评", "malicious": "恶意差评", "other": "其他"}
# Which case column a clock's deadline timer keeps.
CLOCK_COLUMNS = {"contact": "contact_due_at", "rectify": "rectify_due_at", "close": "close_due_at"}


def per_transaction(session: Session, kind: str) -> dict[Any, Any]:
    """A cache that lives exactly as long as the session's current transaction."""
    session.connection()  # begins the transaction if none is open
    caches = _CACHES.setdefault(session.get_transaction(), {})
    return caches.setdefault(kind, {})


# Cases this transaction works on, by case number (the listener finds them by the
# instance's business key, before they are flushed).
_CACHES: WeakKeyDictionary[SessionTransaction, dict[str, dict[Any, Any]]] = WeakKeyDictionary()


def register(session: Session, case: Case) -> None:
    """Make a case that is not flushed yet known to the listener in this transaction."""
    per_transaction(session, "case")[case.case_no] = case


def record(session: Session, case: Case, event: str, *, actor: User | str = SYSTEM,
           data: dict[str, Any] | None = None, at: datetime | None = None) -> CaseEvent:
    """Append an event (named ``subject_past_verb``) to the case's history."""
    # A case not flushed yet has no column defaults: its chain starts here.
    entry = CaseEvent(case=case, seq=(case.history_count or 0) + 1, event=event,
                      actor_id=actor.id if isinstance(actor, User) else None,
                      actor=actor.username if isinstance(actor, User) else actor,
                      occurred_at=at or current_clock().now(), data=data or {},
                      prev_hash=case.history_head or GENESIS)
    entry.hash = event_hash(case.case_no, entry, entry.prev_hash)
    # The writer of a case holds its instance's lock, so the head it extends is the newest.
    case.history_count, case.history_head = entry.seq, entry.hash
    session.add(entry)
    return entry


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class CaseListener(EngineListener):
    """Turns engine events into case history and case-row updates."""

    def _case(self, session: Session, instance: ProcessInstance) -> Case:
        cases = per_transaction(session, "case")
        case = cases.get(instance.business_key)
        if case is None:
            with session.no_autoflush:  # a case of this transaction not flushed yet is registered
                case = session.scalar(select(Case).where(Case.case_no == instance.business_key))
            if case is None:
                raise LookupError(f"no case for process instance {instance.id} ({instance.business_key})")
            cases[instance.business_key] = case
        return case

    def task_opened(self, session: Session, instance: ProcessInstance, task: HumanTask) -> None:
        case = self._case(session, instance)
        if task.stage:
            case.stage = CaseStage(task.stage)
        record(session, case, "task_opened", data={"task": task.bpmn_id, "name": task.name, "role": task.role,
                                                  "department_id": task.department_id,
                                                  "due_at": _iso(task.due_at)})

    def task_closed(self, session: Session, instance: ProcessInstance, task: HumanTask) -> None:
        if task.status == "cancelled":
            record(session, self._case(session, instance), "task_cancelled",
                   data={"task": task.bpmn_id, "name": task.name})

    def timer_set(self, session: Session, instance: ProcessInstance, timer: Timer) -> None:
        column = CLOCK_COLUMNS.get(timer.clock or "")
        if timer.kind == "deadline" and column:
            case = self._case(session, instance)
            setattr(case, column, timer.due_at)
            case.deadlines_provisional = timer.provisional

    def timer_fired(self, session: Session, instance: ProcessInstance, timer: Timer, *,
                    inline: bool = False) -> None:
        case = self._case(session, instance)
        data = {"timer": timer.bpmn_id, "name": timer.name, "clock": timer.clock, "due_at": _iso(timer.due_at)}
        if inline:  # fired inside another step (its due time had passed), not by the sweep
            data["inline"] = True
        at = timer.fired_at  # the timers of one firing share its time (a replay fires them together)
        if timer.kind == "warning":
            record(session, case, "deadline_warned", actor=TIMER, data=data, at=at)
        elif timer.kind == "deadline":
            case.overdue = True
            record(session, case, "deadline_missed", actor=TIMER, data=data, at=at)
            record(session, case, "case_escalated", actor=TIMER, data={**data, "to": "supervisor"}, at=at)
        else:
            record(session, case, "timer_fired", actor=TIMER, data=data, at=at)

    def timer_moved(self, session: Session, instance: ProcessInstance, timer: Timer, old: datetime) -> None:
        case = self._case(session, instance)
        self.timer_set(session, instance, timer)
        record(session, case, "deadline_recomputed", data={
            "timer": timer.bpmn_id, "kind": timer.kind, "clock": timer.clock,
            "old": _iso(old), "new": _iso(timer.due_at), "provisional": timer.provisional})

    def instance_completed(self, session: Session, instance: ProcessInstance, data: dict[str, Any]) -> None:
        case = self._case(session, instance)
        case.status, case.stage, case.closed_at = CaseStatus.CLOSED, CaseStage.CLOSED, current_clock().now()
        outcome = data.get("outcome")
        case.outcome = CaseOutcome(outcome) if outcome in {o.value for o in CaseOutcome} else None
        if case.outcome is CaseOutcome.APPEAL_UPHELD:
            # R10: an upheld appeal excludes the rating from statistics; it is never deleted.
            case.rating.excluded = True
            reason = APPEAL_REASONS.get(str(data.get("appeal_reason")))
            case.rating.excluded_reason = f"申诉成立（{reason}）" if reason else "申诉成立"
        record(session, case, "case_closed", data={"outcome": outcome,
                                                  "excluded": case.rating.excluded})
        enqueue_milestone(session, case, "closed", outcome=outcome, excluded=case.rating.excluded)

    def instance_errored(self, session: Session, instance: ProcessInstance, message: str) -> None:
        record(session, self._case(session, instance), "instance_errored", data={"error": message})
