"""The state of a case's legal clocks (R7) for display: met, open with the working days
left, overdue, paused during an appeal, not applicable — each possibly provisional
(暂定, DESIGN.md §3).

A clock's deadline timers (wf_timer rows, ``kind = deadline``) tell its story: the newest
one waiting means the clock runs; fired means it was missed; cancelled means its activity
ended first (met), unless the rectification clock stopped for an appeal. A clock with no
timer yet runs on the planned deadline the case row keeps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import calendars
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.tables import FIRED, WAITING, Timer

from ..models import Case, CaseStage, CaseStatus
from .case_labels import clock_label
from .working_days import days_left

MET, OPEN, PLANNED, OVERDUE, PAUSED, NOT_APPLICABLE = "met", "open", "planned", "overdue", "paused", "n/a"
COMPLEX_DAYS = 15  # R7: a complex case is closed within 15 working days
# Stages after which a clock has nothing left to run for.
_PAST_CONTACT = frozenset(CaseStage) - {CaseStage.ROUTING, CaseStage.ON_SPOT, CaseStage.CONTACT}
_APPEALING = frozenset({CaseStage.APPEAL, CaseStage.RECHECK})


@dataclass
class ClockState:
    clock: str
    due_at: datetime | None
    state: str
    days: int | None = None  # working days left (negative: overdue), where it matters
    provisional: bool = False
    note: str = ""

    @property
    def label(self) -> str:
        return clock_label(self.clock)

    @property
    def text(self) -> str:
        if self.state == MET:
            return "已按期完成"
        if self.state == PAUSED:
            return "申诉期间暂停计时"
        if self.state == NOT_APPLICABLE:
            return "不适用" + (f"（{self.note}）" if self.note else "")
        if self.state == OVERDUE:
            if self.days is None:
                return "已超期" + (f"（{self.note}）" if self.note else "")
            return f"已超期 {-self.days} 个工作日" if self.days < 0 else "已超期"
        prefix = "未开始，" if self.state == PLANNED else ""
        return prefix + ("今日到期" if self.days == 0 else f"剩余 {self.days} 个工作日")


def _from_timers(clock: str, timers: Sequence[Timer], case: Case, now: datetime) -> ClockState | None:
    if not timers:
        return None
    latest = timers[-1]
    if latest.status == WAITING:
        days, provisional = days_left(now, latest.due_at)
        if now > latest.due_at:  # due, and the sweep has not fired it yet
            return ClockState(clock, latest.due_at, OVERDUE, days if days < 0 else None,
                              latest.provisional or provisional)
        return ClockState(clock, latest.due_at, OPEN, days, latest.provisional or provisional)
    if latest.status == FIRED:
        if case.status is CaseStatus.CLOSED or (clock in ("triage", "contact") and case.stage in _PAST_CONTACT):
            return ClockState(clock, latest.due_at, OVERDUE, None, latest.provisional, "超期后办结")
        days, provisional = days_left(now, latest.due_at)
        return ClockState(clock, latest.due_at, OVERDUE, days if days < 0 else None,
                          latest.provisional or provisional)
    # cancelled: the activity ended before its deadline
    if clock == "rectify" and case.stage in _APPEALING:
        return ClockState(clock, latest.due_at, PAUSED)
    return ClockState(clock, latest.due_at, MET, provisional=latest.provisional)


def _planned(clock: str, due: datetime | None, case: Case, now: datetime, done: bool, why_not: str) -> ClockState:
    if due is None:
        return ClockState(clock, None, NOT_APPLICABLE, note=why_not)
    if done:
        return ClockState(clock, due, NOT_APPLICABLE, note="无需办理")
    days, provisional = days_left(now, due)
    if now > due:
        return ClockState(clock, due, OVERDUE, days if days < 0 else None, case.deadlines_provisional or provisional)
    return ClockState(clock, due, PLANNED, days, case.deadlines_provisional or provisional)


def _close_clock(case: Case, now: datetime) -> ClockState:
    """15 working days for a complex case (R7); other cases have no separate close clock."""
    due, provisional = case.close_due_at, case.deadlines_provisional
    if due is None and case.is_complex:
        try:
            due = calendars.deadline(case.received_at, COMPLEX_DAYS)
        except calendars.CalendarYearMissing:
            due, provisional = calendars.provisional_deadline(case.received_at, COMPLEX_DAYS)
    if due is None:
        return ClockState("close", None, NOT_APPLICABLE, note="非复杂件")
    if case.closed_at is not None:
        return ClockState("close", due, MET if case.closed_at <= due else OVERDUE, None, provisional,
                          "" if case.closed_at <= due else "超期后办结")
    days, more = days_left(now, due)
    if now > due:
        return ClockState("close", due, OVERDUE, days if days < 0 else None, provisional or more)
    return ClockState("close", due, OPEN, days, provisional or more)


def clock_states(session: Session, case: Case, now: datetime) -> list[ClockState]:
    """Triage (when it ran), contact, rectification and close clocks of ``case`` at ``now``."""
    timers: dict[str, list[Timer]] = {}
    for timer in session.scalars(select(Timer).where(Timer.instance_id == case.instance_id,
                                                     Timer.kind == "deadline").order_by(Timer.id)):
        timers.setdefault(timer.clock or "", []).append(timer)
    closed = case.status is CaseStatus.CLOSED
    states = []
    triage = _from_timers("triage", timers.get("triage", []), case, now)
    if triage is not None:
        states.append(triage)
    states.append(_from_timers("contact", timers.get("contact", []), case, now) or _planned(
        "contact", case.contact_due_at, case, now, closed or case.stage in _PAST_CONTACT, "匿名评价无需联系"))
    states.append(_from_timers("rectify", timers.get("rectify", []), case, now) or _planned(
        "rectify", case.rectify_due_at, case, now, closed, "尚未确定"))
    states.append(_close_clock(case, now))
    return states
