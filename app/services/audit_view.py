"""The audit page of a case (issue 8): its history replayed step by step, each step showing
the case as it was then — stage, open tasks and who held them, deadlines with the working
days left, the form data submitted, the rating's status — and the diagram marks of that
moment, on the process version the case ran on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.tables import Deployment

from ..models import Case, CaseStage, User
from .case_diagram import process_files
from .case_labels import clock_label
from .case_replay import Replay, Step, replay_case
from .case_timeline import TimelineEntry, timeline
from .working_days import days_left

KINDS = {"start": "立案与流程启动", "task": "办理任务", "timer": "计时器到期", "calendar": "节假日数据变更后重算期限",
         "migrate": "迁移到新的流程版本"}
TIMER_KINDS = {"warning": "预警", "deadline": "期限", "other": "定时"}


@dataclass
class OpenAt:
    name: str
    stage: str
    due_at: datetime | None
    holder: str | None


@dataclass
class ClockAt:
    label: str
    kind: str
    due_at: datetime
    days: int
    provisional: bool


@dataclass
class StepView:
    number: int
    version: int
    at: datetime
    kind: str
    entries: list[TimelineEntry]
    stage: str
    tasks: list[OpenAt]
    clocks: list[ClockAt]
    rating_status: str
    status: str
    difference: str | None
    marks: dict[str, Any] = field(default_factory=dict)


@dataclass
class AuditCase:
    case: Case
    replay: Replay
    steps: list[StepView]

    def diagrams(self, session: Session) -> dict[str, Any]:
        """What the page's viewer loads: each process of each version the case ran on (a
        migration moves it to another), once, and every step's version and marks."""
        used = {(step.version, process) for step in self.steps for process in step.marks}
        deployments = {d.version: d for d in session.scalars(
            select(Deployment).where(Deployment.version.in_({v for v, _p in used})))}
        processes = {}
        for version, process in sorted(used):
            files = process_files(deployments[version]) if version in deployments else {}
            if process in files:
                source = files[process]
                processes[f"{version}:{process}"] = {"version": version, "process": process, "name": source.name,
                                                     "file": source.file, "xml": source.xml}
        return {"version": self.replay.version, "processes": processes,
                "steps": [{"number": s.number, "version": s.version, "marks": s.marks} for s in self.steps]}


def _holders(entries: list[TimelineEntry], events: dict[int, Any], names: dict[int, str],
             held: dict[str, str | None]) -> None:
    """Who holds each task after these events (claims, releases, reassignments)."""
    for entry in entries:
        data = events[entry.seq].data
        task = str(data.get("task"))
        if entry.event == "task_claimed":
            held[task] = entry.actor
        elif entry.event == "task_unclaimed":
            held[task] = None
        elif entry.event == "task_reassigned":
            held[task] = names.get(data.get("to"), str(data.get("to")))
        elif entry.event in ("task_completed", "task_cancelled") or entry.event.endswith("_decided"):
            held.pop(task, None)


def audit_case(session: Session, case: Case) -> AuditCase:
    replay = replay_case(session, case, with_marks=True)
    entries = {e.seq: e for e in timeline(session, case)}
    events = {e.seq: e for step in replay.steps for e in step.events}
    user_ids = {e.data.get("to") for e in events.values() if e.event == "task_reassigned"}
    names = dict(session.execute(select(User.id, User.display_name).where(User.id.in_(
        [i for i in user_ids if isinstance(i, int)]))).all()) if user_ids else {}
    held: dict[str, str | None] = {}
    excluded = False
    views = []
    for step in replay.steps:
        step_entries = [entries[e.seq] for e in step.events if e.seq in entries]
        _holders(step_entries, events, names, held)
        excluded = excluded or any(sig[0] == "case_closed" and sig[1] == "appeal_upheld" for sig in step.replayed)
        views.append(_view(step, step_entries, held, excluded))
    return AuditCase(case, replay, views)


def _view(step: Step, entries: list[TimelineEntry], held: dict[str, str | None], excluded: bool) -> StepView:
    stage = next((CaseStage(t[3]).label for t in step.ready if t[3] in CaseStage._value2member_map_), None)
    tasks = [OpenAt(name, CaseStage(stg).label if stg in CaseStage._value2member_map_ else "—", due,
                    held.get(bpmn_id)) for bpmn_id, name, due, stg in step.ready]
    clocks = []
    for _bpmn_id, kind, clock, due in step.timers:
        days, provisional = days_left(step.at, due)
        clocks.append(ClockAt(f"{clock_label(clock)}{TIMER_KINDS.get(kind, '')}", kind, due, days, provisional))
    return StepView(step.number, step.version, step.at, KINDS.get(step.kind, step.kind), entries,
                    stage or ("已办结" if step.status == "completed" else "—"), tasks, clocks,
                    "申诉成立，不计入统计（未删除）" if excluded else "有效", step.status, step.difference, step.marks)
