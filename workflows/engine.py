"""Process instances in the database: start, load, complete a task, fire timers, save.

After every step the engine mirrors the instance into rows — each READY user task a
``wf_task`` row (the inboxes), each WAITING timer a ``wf_timer`` row (the sweep) — and
re-evaluates every waiting timer's expression, so a deadline follows the process data
and the calendar. Whatever changes is reported to a :class:`EngineListener` inside the
same transaction; the application writes the case history there.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimeDateEventDefinition, TimerEventDefinition
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.task import TaskState

from .clock import current_clock
from .instance_tree import (DEPARTMENT_ROLES, LANE_ROLES, enclosing_ids, final_data, find_task, is_done,
                            ready_user_tasks, task_row, timer_row, timers_completed_since, waiting_timers)
from .locking import lock_instance
from .script_helpers import tracking_provisional
from .serializer import InstanceSerializer
from .specs import SpecRegistry
from .tables import (CANCELLED, COMPLETED, DONE, ERRORED, FIRED, READY, RUNNING, WAITING, Deployment, HumanTask,
                     ProcessInstance, Timer)

__all__ = ["DEPARTMENT_ROLES", "LANE_ROLES", "Engine", "EngineError", "EngineListener", "Loaded", "ScriptFailure",
           "lock_instance"]

_SERIALIZER = InstanceSerializer()  # stateless: one for the process


class EngineError(RuntimeError):
    """An operation on an instance is refused; nothing was changed."""


class ScriptFailure(EngineError):
    """A script or expression of the process failed. The caller rolls back, then records
    it with :meth:`Engine.mark_errored`."""

    def __init__(self, instance_id: int, message: str) -> None:
        super().__init__(message)
        self.instance_id = instance_id


class EngineListener:
    """Hooks called inside the engine's transaction. The default does nothing."""

    def task_opened(self, session: Session, instance: ProcessInstance, task: HumanTask) -> None: ...
    def task_closed(self, session: Session, instance: ProcessInstance, task: HumanTask) -> None: ...
    def timer_set(self, session: Session, instance: ProcessInstance, timer: Timer) -> None: ...
    def timer_fired(self, session: Session, instance: ProcessInstance, timer: Timer, *,
                    inline: bool = False) -> None:
        """A timer fired: by the sweep, or (``inline``) inside another step because its due
        time had passed when the engine next ran the instance."""
    def timer_moved(self, session: Session, instance: ProcessInstance, timer: Timer, old: datetime) -> None: ...
    def instance_completed(self, session: Session, instance: ProcessInstance, data: dict[str, Any]) -> None: ...
    def instance_errored(self, session: Session, instance: ProcessInstance, message: str) -> None: ...


@dataclass
class Loaded:
    row: ProcessInstance
    workflow: BpmnWorkflow
    tasks: dict[str, HumanTask] = field(default_factory=dict)  # open rows by task uuid
    timers: dict[str, Timer] = field(default_factory=dict)  # waiting rows by task uuid
    provisional: dict[str, bool] = field(default_factory=dict)  # timer uuid -> value is provisional
    step_started: float = 0.0  # time.time() when the current step began (SpiffWorkflow's clock)


class Engine:
    def __init__(self, session: Session, specs: SpecRegistry, script_engine: PythonScriptEngine,
                 listener: EngineListener | None = None, *, save_state: bool = True) -> None:
        """``save_state=False`` leaves ``ProcessInstance.state`` as it was after each step
        (for a re-run that keeps its :class:`Loaded` workflow in memory throughout)."""
        self.session = session
        self.save_state = save_state
        self.specs = specs
        self.script_engine = script_engine
        self.listener = listener or EngineListener()
        self.serializer = _SERIALIZER

    # -- lifecycle --------------------------------------------------------------------
    def start(self, deployment: Deployment, process_id: str, business_key: str,
              data: dict[str, Any]) -> ProcessInstance:
        return self.begin(deployment, process_id, business_key, data).row

    def begin(self, deployment: Deployment, process_id: str, business_key: str,
              data: dict[str, Any]) -> Loaded:
        """:meth:`start`, keeping the new instance loaded for further steps."""
        specs = self.specs.get(deployment.id, lambda: deployment.bpmn_files, process_id, deployment.sha256)
        workflow = BpmnWorkflow(specs.spec, specs.subprocess_specs, script_engine=self.script_engine)
        workflow.get_tasks(state=TaskState.READY)[0].data.update(data)
        now = current_clock().now()
        row = ProcessInstance(deployment=deployment, process_id=process_id, business_key=business_key,
                              status=RUNNING, state={}, created_at=now, updated_at=now)
        self.session.add(row)
        loaded = Loaded(row, workflow)
        self._advance(loaded, workflow.do_engine_steps)
        return loaded

    def load(self, instance_id: int, *, skip_locked: bool = False) -> Loaded | None:
        """The instance with its open task and timer rows, locked against other writers.

        With ``skip_locked`` an instance another transaction holds gives None instead of
        waiting (the sweep moves on to the next one).
        """
        if not lock_instance(self.session, instance_id, skip_locked=skip_locked):
            if skip_locked:
                return None
            raise EngineError(f"process instance {instance_id} does not exist")
        row = self.session.get(ProcessInstance, instance_id, populate_existing=True)
        if row is None:
            raise EngineError(f"process instance {instance_id} does not exist")
        deployment = row.deployment
        specs = self.specs.get(deployment.id, lambda: deployment.bpmn_files, row.process_id, deployment.sha256)
        workflow = self.serializer.load(row.state, specs, self.script_engine)
        loaded = Loaded(row, workflow)
        for task in self.session.scalars(select(HumanTask).where(
                HumanTask.instance_id == row.id, HumanTask.status == READY)):
            loaded.tasks[task.task_uuid] = task
        for timer in self.session.scalars(select(Timer).where(
                Timer.instance_id == row.id, Timer.status == WAITING)):
            loaded.timers[timer.task_uuid] = timer
        return loaded

    def complete_task(self, task_row: HumanTask, data: dict[str, Any], user_id: int | None,
                      loaded: Loaded | None = None) -> Loaded:
        """Complete a READY user task with its (validated) form data.

        A caller that already holds the instance (``loaded``, from :meth:`load` in this
        transaction) and has read ``task_row`` under its lock passes it in.
        """
        if loaded is None:
            loaded = self.load(task_row.instance_id)
            assert loaded is not None
            self.session.flush()
            self.session.refresh(task_row)  # as it is now that we hold the lock
        if task_row.status != READY:
            raise EngineError(f"task {task_row.bpmn_id} is {task_row.status}, no longer open")
        if loaded.row.status != RUNNING:
            raise EngineError(f"process instance {loaded.row.id} is {loaded.row.status}")
        spiff_task = find_task(loaded.workflow, task_row.task_uuid)
        if spiff_task is None or spiff_task.state != TaskState.READY:
            raise EngineError(f"task {task_row.bpmn_id} is not ready (already completed?)")
        task_row.completed_by = user_id
        spiff_task.data.update(data)

        def step() -> None:
            spiff_task.run()
            loaded.workflow.do_engine_steps()

        self._advance(loaded, step)
        return loaded

    def fire_timers(self, loaded: Loaded, timers: Iterable[Timer]) -> None:
        """Fire due timers: mark each fired in SpiffWorkflow, then run the engine."""
        now = current_clock().now()
        due = []
        for timer in timers:
            spiff_task = find_task(loaded.workflow, timer.task_uuid)
            if spiff_task is None or spiff_task.state != TaskState.WAITING:
                timer.status = CANCELLED  # its activity ended before the sweep came
                continue
            spiff_task._set_internal_data(event_fired=True)
            timer.status, timer.fired_at = FIRED, now
            due.append(timer)

        def step() -> None:
            loaded.workflow.refresh_timers()
            loaded.workflow.do_engine_steps()

        # The firing is told first, then what it caused: the history reads cause → effect.
        for timer in due:
            self.listener.timer_fired(self.session, loaded.row, timer)
        self._advance(loaded, step)

    def recompute_timers(self, loaded: Loaded) -> None:
        """Re-evaluate waiting timers (e.g. after calendar data changed) and save."""
        self._advance(loaded, lambda: None)

    # -- the step, the mirror and the save ---------------------------------------------
    def mark_errored(self, instance_id: int, message: str) -> None:
        """Record a failure (in a transaction of its own, after the failed one rolled back):
        the instance keeps its last good state and waits for an administrator's retry."""
        lock_instance(self.session, instance_id)
        row = self.session.get(ProcessInstance, instance_id, populate_existing=True)
        if row is None:
            return
        row.status, row.error, row.updated_at = ERRORED, message[:2000], current_clock().now()
        self.session.flush()
        self.listener.instance_errored(self.session, row, message)

    def retry(self, instance_id: int) -> Loaded:
        """Put an errored instance back to running and run its engine steps again; due
        timers it missed are fired by the next sweep."""
        loaded = self.load(instance_id)
        assert loaded is not None
        if loaded.row.status != ERRORED:
            raise EngineError(f"process instance {instance_id} is {loaded.row.status}, not errored")
        loaded.row.status, loaded.row.error = RUNNING, None
        self._advance(loaded, loaded.workflow.do_engine_steps)
        return loaded

    def _advance(self, loaded: Loaded, step: Any) -> None:
        loaded.step_started = time.time()
        try:
            step()
            self._reevaluate_timers(loaded)
        except Exception as error:  # a script or expression failed
            raise ScriptFailure(loaded.row.id, f"{type(error).__name__}: {error}") from error
        self._mirror(loaded)

    def _reevaluate_timers(self, loaded: Loaded) -> None:
        for spiff_task in waiting_timers(loaded.workflow):
            definition = spiff_task.task_spec.event_definition
            old = spiff_task._get_internal_data("event_value")
            if old is None or not isinstance(definition, TimeDateEventDefinition):
                continue  # durations and cycles count from when they started: nothing to redo
            with tracking_provisional() as used:
                new = self.script_engine.evaluate(spiff_task, definition.expression)
            loaded.provisional[str(spiff_task.id)] = bool(used)
            if new != old:
                spiff_task._set_internal_data(event_value=new)
        loaded.workflow.refresh_timers()

    def _mirror(self, loaded: Loaded) -> None:
        now = current_clock().now()
        workflow, row = loaded.workflow, loaded.row
        ready = {str(t.id): t for t in ready_user_tasks(workflow)}
        waiting = {str(t.id): t for t in waiting_timers(workflow)}
        new_timers: list[Timer] = []
        fired_inline: list[Timer] = []
        for uuid, timer in list(loaded.timers.items()):
            if uuid not in waiting and timer.status == WAITING:
                # Its activity ended (cancelled), or SpiffWorkflow fired it inside this step
                # because its due time had passed before the sweep came to it.
                spiff_task = find_task(workflow, uuid)
                if spiff_task is not None and spiff_task.state == TaskState.COMPLETED:
                    timer.status, timer.fired_at = FIRED, now
                    fired_inline.append(timer)
                else:
                    timer.status = CANCELLED
        for spiff_task in timers_completed_since(workflow, loaded.step_started):
            uuid = str(spiff_task.id)
            if uuid not in loaded.timers:  # started and fired within this one step: never waited
                due = TimerEventDefinition.get_datetime(spiff_task._get_internal_data("event_value"))
                timer = timer_row(row, spiff_task, due, now)
                timer.status, timer.fired_at = FIRED, now
                self.session.add(timer)
                loaded.timers[uuid] = timer
                fired_inline.append(timer)
        for uuid, spiff_task in waiting.items():
            due = TimerEventDefinition.get_datetime(spiff_task._get_internal_data("event_value"))
            timer = loaded.timers.get(uuid)
            provisional = loaded.provisional.get(uuid, False)
            if timer is None:
                timer = timer_row(row, spiff_task, due, now)
                timer.provisional = provisional
                self.session.add(timer)
                loaded.timers[uuid] = timer
                new_timers.append(timer)
            elif timer.due_at != due or timer.provisional != provisional:
                old, timer.due_at, timer.provisional = timer.due_at, due, provisional
                self.listener.timer_moved(self.session, row, timer, old)
        for uuid, task in list(loaded.tasks.items()):
            if uuid not in ready and task.status == READY:
                task.status = DONE if is_done(workflow, uuid) else CANCELLED
                task.completed_at = now
                self.listener.task_closed(self.session, row, task)
                del loaded.tasks[uuid]
        opened = []
        for uuid, spiff_task in ready.items():
            if uuid not in loaded.tasks:
                department = spiff_task.data.get("department_id", workflow.data.get("department_id"))
                task = task_row(row, spiff_task, now, department)
                self.session.add(task)
                loaded.tasks[uuid] = task
                opened.append(task)
        self._set_due_dates(loaded, ready)
        if self.save_state:
            row.state = self.serializer.dump(workflow)
        row.updated_at = now
        finished = workflow.completed and row.status == RUNNING
        if finished:
            row.status, row.completed_at = COMPLETED, now
        for timer in new_timers:
            self.listener.timer_set(self.session, row, timer)
        for timer in fired_inline:
            self.listener.timer_fired(self.session, row, timer, inline=True)
        for task in opened:
            self.listener.task_opened(self.session, row, task)
        if finished:
            self.listener.instance_completed(self.session, row, final_data(workflow))

    def _set_due_dates(self, loaded: Loaded, ready: dict[str, Task]) -> None:
        deadlines: dict[str, datetime] = {}
        for timer in loaded.timers.values():
            if timer.status == WAITING and timer.kind == "deadline" and timer.attached_to:
                current = deadlines.get(timer.attached_to)
                deadlines[timer.attached_to] = min(current, timer.due_at) if current else timer.due_at
        for uuid, spiff_task in ready.items():
            dues = [deadlines[b] for b in enclosing_ids(loaded.workflow, spiff_task) if b in deadlines]
            loaded.tasks[uuid].due_at = min(dues) if dues else None
