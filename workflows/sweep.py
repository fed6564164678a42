"""The timer sweep: fire every due timer exactly once, one transaction per instance.

Any number of processes may sweep one database. Each finds instances with due timers
through the ``(status, due_at)`` index — its cost grows with the due timers, not with
the open cases — and takes each instance's lock with SKIP LOCKED, so two sweepers never
work on one instance and never wait for each other. Under the lock it reads the timers
again: one that another sweeper fired in the meantime is no longer waiting. A sweeper
killed halfway loses nothing: its transaction rolls back and the timers stay due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from .clock import current_clock
from .engine import Engine, ScriptFailure
from .tables import RUNNING, WAITING, ProcessInstance, Timer

log = logging.getLogger(__name__)


@dataclass
class SweepResult:
    fired: int = 0  # timers fired
    instances: int = 0  # instances advanced
    skipped: int = 0  # instances another transaction held
    errors: list[str] = field(default_factory=list)  # "instance N: message"


def due_instance_ids(session: Session, limit: int) -> list[int]:
    now = current_clock().now()
    rows = session.execute(select(Timer.instance_id, Timer.due_at)
                           .join(ProcessInstance, ProcessInstance.id == Timer.instance_id)
                           .where(Timer.status == WAITING, Timer.due_at <= now,
                                  ProcessInstance.status == RUNNING)
                           .order_by(Timer.due_at).limit(limit * 4))
    seen: dict[int, None] = {}
    for instance_id, _due in rows:
        seen.setdefault(instance_id)
        if len(seen) == limit:
            break
    return list(seen)


def sweep_instance(engine: Engine, instance_id: int) -> int | None:
    """Fire the due timers of one instance in the caller's transaction. Returns how many
    fired, or None when another transaction holds the instance."""
    loaded = engine.load(instance_id, skip_locked=True)
    if loaded is None:
        return None
    if loaded.row.status != RUNNING:
        return 0  # errored meanwhile: it waits for an administrator's retry
    now = current_clock().now()
    due = [t for t in loaded.timers.values() if t.status == WAITING and t.due_at <= now]
    if due:
        engine.fire_timers(loaded, sorted(due, key=lambda t: (t.due_at, t.id)))
    return len(due)


def sweep(session_factory: Callable[[], Session], make_engine: Callable[[Session], Engine],
          batch: int = 20, max_batches: int = 50) -> SweepResult:
    """Sweep until no due timer is left (or ``max_batches`` batches), committing each
    instance on its own. A failing instance is marked errored and the sweep goes on."""
    result = SweepResult()
    for _ in range(max_batches):
        with session_factory() as session:
            ids = due_instance_ids(session, batch)
        if not ids:
            break
        progress = False
        for instance_id in ids:
            with session_factory() as session:
                engine = make_engine(session)
                try:
                    fired = sweep_instance(engine, instance_id)
                    session.commit()
                except ScriptFailure as failure:
                    session.rollback()  # the timers stay due; the instance is marked errored
                    engine.mark_errored(instance_id, str(failure))
                    session.commit()
                    result.errors.append(f"instance {instance_id}: {failure}")
                    log.error("timer sweep: instance %s errored: %s", instance_id, failure)
                    continue
            if fired is None:
                result.skipped += 1
            elif fired:
                result.fired += fired
                result.instances += 1
                progress = True
        if not progress:
            break
    return result
