"""Re-running a case from its recorded history (issue 8): verification by re-execution,
and the case as it was at each step, for the audit page.

The recorded inputs are replayed in order on the process version the case ran on, in a
scratch database of its own (an in-memory SQLite holding only the engine's tables), with
the engine clock at each input's recorded time and the calendar data as it was then:
the start of the process, each task completion with its form data, each timer firing,
each recomputation after calendar data changed. What the engine derives from them — tasks
opened and cancelled, deadlines moved, the case closed — is compared with what the history
recorded at that step; at the end the replayed instance is compared with the stored one.
Nothing of the real database is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from calendars import calendar_in_context
from workflows.clock import ManualClock, clock_in_context
from workflows.engine import Engine, EngineListener, Loaded
from workflows.scripting import make_script_engine
from workflows.serializer import InstanceSerializer
from workflows.tables import READY, WAITING, Deployment, HumanTask, ProcessInstance, Timer

from ..models import Case, CaseEvent, Rating
from .calendar_years import CalendarHistory
from .case_tasks import EVENT_OF_TASK
from .cases import PROCESS_ID, process_start_data
from .engine_runtime import SPECS

TASK_INPUTS = frozenset({"task_completed", *EVENT_OF_TASK.values()})
TIMER_INPUTS = frozenset({"deadline_warned", "deadline_missed", "timer_fired"})
ENGINE_TABLES = [Deployment.__table__, ProcessInstance.__table__, HumanTask.__table__, Timer.__table__]
_SERIALIZER = InstanceSerializer()

Signature = tuple[Any, ...]


def _instant(text: str | None) -> str | None:
    """A recorded time as one comparable form (UTC), whatever offset it was written with."""
    if not text:
        return None
    return datetime.fromisoformat(text).astimezone(timezone.utc).isoformat()


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(timezone.utc).isoformat() if moment else None


def recorded_signature(entry: CaseEvent) -> Signature | None:
    """What an engine-derived history event says, in a form the replay reproduces; None
    for events that are inputs or not the engine's (claims, comments, planned deadlines)."""
    data = entry.data
    if entry.event == "task_opened":
        return ("task_opened", data.get("task"), _instant(data.get("due_at")))
    if entry.event == "task_cancelled":
        return ("task_cancelled", data.get("task"))
    if entry.event == "deadline_recomputed" and data.get("timer"):
        return ("deadline_recomputed", data.get("timer"), _instant(data.get("new")))
    if entry.event == "case_closed":
        return ("case_closed", data.get("outcome"))
    if entry.event in TIMER_INPUTS and data.get("inline"):
        return ("timer_fired", data.get("timer"))
    return None


class _Recorder(EngineListener):
    """Collects what the replayed engine derives, as signatures."""

    def __init__(self) -> None:
        self.out: list[Signature] = []

    def task_opened(self, session: Session, instance: ProcessInstance, task: HumanTask) -> None:
        self.out.append(("task_opened", task.bpmn_id, _iso(task.due_at)))

    def task_closed(self, session: Session, instance: ProcessInstance, task: HumanTask) -> None:
        if task.status == "cancelled":
            self.out.append(("task_cancelled", task.bpmn_id))

    def timer_moved(self, session: Session, instance: ProcessInstance, timer: Timer, old: datetime) -> None:
        self.out.append(("deadline_recomputed", timer.bpmn_id, _iso(timer.due_at)))

    def instance_completed(self, session: Session, instance: ProcessInstance, data: dict[str, Any]) -> None:
        self.out.append(("case_closed", data.get("outcome")))

    def timer_fired(self, session: Session, instance: ProcessInstance, timer: Timer, *,
                    inline: bool = False) -> None:
        if inline:  # an input when the sweep fired it; derived when it fired inside a step
            self.out.append(("timer_fired", timer.bpmn_id))


@dataclass
class Step:
    """One input and what followed it."""

    number: int
    kind: str  # start / task / timer / calendar / migrate
    at: datetime
    events: list[CaseEvent] = field(default_factory=list)  # recorded events of this step
    recorded: list[Signature] = field(default_factory=list)
    replayed: list[Signature] = field(default_factory=list)
    difference: str | None = None
    version: int = 0  # the process version the instance ran on after this step
    # the replayed instance after the step
    ready: list[tuple[str, str, datetime | None, str | None]] = field(default_factory=list)  # id, name, due, stage
    timers: list[tuple[str, str, str | None, datetime]] = field(default_factory=list)  # id, kind, clock, due
    status: str = ""
    marks: dict[str, Any] = field(default_factory=dict)  # process id -> completed / active / overdue

    @property
    def input(self) -> CaseEvent | None:
        return self.events[0] if self.events and self.kind in ("task", "timer") else None


@dataclass
class Replay:
    case_no: str
    version: int
    steps: list[Step]
    final_difference: str | None = None

    @property
    def first_difference(self) -> Step | None:
        return next((step for step in self.steps if step.difference), None)

    @property
    def consistent(self) -> bool:
        return self.first_difference is None and self.final_difference is None

    def describe(self) -> str:
        step = self.first_difference
        if step is not None:
            return f"{self.case_no}：不一致，第{step.number}步（{step.at:%Y-%m-%d %H:%M}）{step.difference}"
        if self.final_difference:
            return f"{self.case_no}：不一致，{self.final_difference}"
        return f"{self.case_no}：一致（{len(self.steps)}步重演结果与记录相符）"


def _steps(events: list[CaseEvent], history: CalendarHistory) -> list[Step]:
    """Cut the history into steps: each input opens one; engine-derived events belong to
    the step before them; a calendar change between two events opens a recomputation."""
    steps: list[Step] = []
    current: Step | None = None
    for entry in events:
        fired_with = (current is not None and current.kind == "timer" and entry.event in TIMER_INPUTS
                      and current.at == entry.occurred_at)  # timers fired in one sweep share their time
        if entry.event == "case_opened" or current is None:
            current = Step(len(steps) + 1, "start", entry.occurred_at)
            steps.append(current)
        elif entry.event in TASK_INPUTS or (entry.event in TIMER_INPUTS and not fired_with
                                             and not entry.data.get("inline")):
            current = Step(len(steps) + 1, "task" if entry.event in TASK_INPUTS else "timer", entry.occurred_at)
            steps.append(current)
        elif entry.event == "instance_migrated":
            current = Step(len(steps) + 1, "migrate", entry.occurred_at)
            steps.append(current)
        elif (entry.event == "deadline_recomputed" and entry.data.get("timer")
              and history.key_at(entry.occurred_at) != history.key_at(current.at)):
            current = Step(len(steps) + 1, "calendar", entry.occurred_at)
            steps.append(current)
        current.events.append(entry)
        signature = recorded_signature(entry)
        if signature is not None:
            current.recorded.append(signature)
    return steps


def _scratch() -> Session:
    engine = create_engine("sqlite://", poolclass=StaticPool)
    for table in ENGINE_TABLES:
        table.create(engine)
    return Session(engine, expire_on_commit=False)


def _copy_deployment(source: Deployment) -> Deployment:
    return Deployment(id=source.id, version=source.version, bpmn_files=source.bpmn_files,
                      form_files=source.form_files, sha256=source.sha256, note=source.note,
                      deployed_by=source.deployed_by, deployed_at=source.deployed_at)


def replay_case(session: Session, case: Case, *, with_marks: bool = False) -> Replay:
    """Re-run ``case`` from its history and compare, step by step (see the module).
    ``with_marks`` also gives each step the diagram marks of the case as it was then."""
    from .case_diagram import element_marks  # the case page's marking, reused per step

    stored = session.get(ProcessInstance, case.instance_id) if case.instance_id else None
    if stored is None:
        raise LookupError(f"案件 {case.case_no} 没有流程实例")
    rating = session.get_one(Rating, case.rating_id)
    events = list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))
    history = CalendarHistory(session)
    steps = _steps(events, history)
    result = Replay(case.case_no, stored.deployment.version, steps)
    scratch = _scratch()
    try:
        versions = _versions(session, stored, events)
        for copy in versions.values():
            scratch.add(copy)
        deployment = versions[_first_version(stored, events)]
        recorder = _Recorder()
        # The replayed workflow stays in memory from step to step: its state is written
        # only where the diagram marks read it.
        engine = Engine(scratch, SPECS, make_script_engine(), recorder, save_state=with_marks)
        loaded: Loaded | None = None
        for step in steps:
            recorder.out.clear()
            with clock_in_context(ManualClock(step.at)), calendar_in_context(history.calendar_at(step.at)):
                try:
                    loaded = _apply(engine, scratch, step, loaded, deployment, case, rating, versions)
                except _Mismatch as mismatch:
                    step.difference = str(mismatch)
                    break
                step.replayed = list(recorder.out)
                if step.replayed != step.recorded:
                    step.difference = _explain(step.recorded, step.replayed)
                _snapshot(step, loaded)
                step.version = loaded.row.deployment.version
                if with_marks:
                    scratch.flush()
                    step.marks = {process: {"completed": sorted(m.completed), "active": sorted(m.active),
                                            "overdue": sorted(m.overdue)}
                                  for process, m in element_marks(scratch, loaded.row, step.at).items()}
            if step.difference:
                break
        if result.first_difference is None and loaded is not None:
            result.final_difference = _compare_final(session, stored, loaded)
        scratch.rollback()
    finally:
        bind = scratch.get_bind()
        scratch.close()
        bind.dispose()
    return result


class _Mismatch(Exception):
    pass


def _first_version(stored: ProcessInstance, events: list[CaseEvent]) -> int:
    """The version the case started on: the first migration's origin, else the current one."""
    moved = next((e for e in events if e.event == "instance_migrated"), None)
    return int(moved.data["from_version"]) if moved is not None else stored.deployment.version


def _versions(session: Session, stored: ProcessInstance, events: list[CaseEvent]) -> dict[int, Deployment]:
    """Copies (for the scratch database) of every version the case ran on, by version."""
    wanted = {stored.deployment.version, _first_version(stored, events)}
    wanted |= {int(e.data["to_version"]) for e in events if e.event == "instance_migrated"}
    return {d.version: _copy_deployment(d) for d in session.scalars(
        select(Deployment).where(Deployment.version.in_(wanted)))}


def _apply(engine: Engine, scratch: Session, step: Step, loaded: Loaded | None, deployment: Deployment,
           case: Case, rating: Rating, versions: dict[int, Deployment]) -> Loaded:
    if step.kind == "start":
        started = engine.begin(deployment, PROCESS_ID, case.case_no, process_start_data(case.case_no, rating))
        scratch.flush()
        return started
    assert loaded is not None
    if step.kind == "task":
        entry = step.events[0]
        task_id = entry.data.get("task")
        task = next((t for t in loaded.tasks.values() if t.bpmn_id == task_id and t.status == READY), None)
        if task is None:
            raise _Mismatch(f"记录中办理了“{task_id}”，重演时该任务并不待办")
        engine.complete_task(task, dict(entry.data.get("values") or {}), entry.actor_id, loaded=loaded)
    elif step.kind == "timer":
        wanted = [e.data.get("timer") for e in step.events if e.event in TIMER_INPUTS]
        timers = [t for t in loaded.timers.values() if t.status == WAITING and t.bpmn_id in wanted]
        missing = set(wanted) - {t.bpmn_id for t in timers}
        if missing:
            raise _Mismatch(f"记录中计时器“{'、'.join(sorted(missing))}”触发，重演时它并不在等待")
        for entry in step.events:
            if entry.event in TIMER_INPUTS:
                timer = next(t for t in timers if t.bpmn_id == entry.data.get("timer"))
                if _iso(timer.due_at) != _instant(entry.data.get("due_at")):
                    raise _Mismatch(f"计时器“{timer.bpmn_id}”到期时间记录为{entry.data.get('due_at')}，"
                                    f"重演为{timer.due_at.isoformat()}")
        engine.fire_timers(loaded, timers)
    elif step.kind == "migrate":
        from .instance_migration import MoveRefused, apply_move

        target = versions.get(int(step.events[0].data["to_version"]))
        if target is None:
            raise _Mismatch(f"流程版本 {step.events[0].data['to_version']} 不存在")
        try:
            apply_move(engine, loaded, target)
        except MoveRefused as refused:
            raise _Mismatch("迁移到版本 {}，重演时被拒绝：{}".format(target.version, "；".join(refused.reasons))) from None
    else:
        engine.recompute_timers(loaded)
    return loaded


_LABELS = {"task_opened": "开启任务", "task_cancelled": "取消任务", "deadline_recomputed": "重算期限",
           "case_closed": "办结", "timer_fired": "计时器到期"}


def _say(signature: Signature) -> str:
    return _LABELS.get(signature[0], signature[0]) + "（" + "，".join(str(p) for p in signature[1:]) + "）"


def _explain(recorded: list[Signature], replayed: list[Signature]) -> str:
    return ("记录为：" + ("；".join(map(_say, recorded)) or "无") + "。重演得到：" + ("；".join(map(_say, replayed)) or "无"))


def _snapshot(step: Step, loaded: Loaded) -> None:
    step.ready = sorted(((t.bpmn_id, t.name, t.due_at, t.stage) for t in loaded.tasks.values() if t.status == READY),
                        key=lambda t: t[0])
    step.timers = sorted(((t.bpmn_id, t.kind, t.clock, t.due_at) for t in loaded.timers.values()
                          if t.status == WAITING), key=lambda t: (t[3], t[0]))
    step.status = loaded.row.status


def _compare_final(session: Session, stored: ProcessInstance, loaded: Loaded) -> str | None:
    """The replayed instance against the stored one: status, open tasks, waiting timers, data."""
    if loaded.row.status != stored.status:
        return f"流程状态记录为{stored.status}，重演为{loaded.row.status}"
    kept_tasks = sorted(session.scalars(select(HumanTask.bpmn_id).where(HumanTask.instance_id == stored.id,
                                                                        HumanTask.status == READY)))
    again_tasks = sorted(t.bpmn_id for t in loaded.tasks.values() if t.status == READY)
    if kept_tasks != again_tasks:
        return f"待办任务记录为{kept_tasks}，重演为{again_tasks}"
    kept_timers = sorted((bpmn_id, _iso(due)) for bpmn_id, due in session.execute(
        select(Timer.bpmn_id, Timer.due_at).where(Timer.instance_id == stored.id, Timer.status == WAITING)))
    again_timers = sorted((t.bpmn_id, _iso(t.due_at)) for t in loaded.timers.values() if t.status == WAITING)
    if kept_timers != again_timers:
        return f"等待中的计时器记录为{kept_timers}，重演为{again_timers}"
    specs = SPECS.get(stored.deployment.id, lambda: stored.deployment.bpmn_files, stored.process_id, stored.deployment.sha256)
    kept = _SERIALIZER.load(stored.state, specs, make_script_engine()).data
    again = loaded.workflow.data
    if kept != again:
        differing = sorted(k for k in set(kept) | set(again) if kept.get(k) != again.get(k))
        return f"流程数据不一致：{'、'.join(differing)}"
    return None
