"""Every due timer fires exactly once: with several sweepers at once (PostgreSQL), and when
a sweeper is killed in the middle of a sweep."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.clock import ManualClock
from workflows.engine import Engine, EngineListener
from workflows.scripting import make_script_engine
from workflows.sweep import sweep
from workflows.tables import Deployment, ProcessInstance, Timer

from ..db_support import on_postgres
from .test_engine import SPECS, beijing, deploy

ROOT = Path(__file__).resolve().parents[2]


class Tally(EngineListener):
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fired: Counter[int] = Counter()

    def timer_fired(self, session, instance, timer):  # type: ignore[override]
        with self.lock:
            self.fired[timer.id] += 1


def start_many(session_factory: Callable[[], Session], count: int) -> None:
    with session_factory() as session:
        deployment = deploy(session)
        engine = Engine(session, SPECS, make_script_engine())
        for n in range(count):
            engine.start(deployment, "mini", f"CP{n:06d}", {"department_id": 1, "divisor": 1, "days": 3,
                                                            "contact_from": "2026-09-30T10:00:00+08:00"})
        session.commit()


def waiting(session_factory: Callable[[], Session]) -> int:
    with session_factory() as session:
        return session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "waiting"))


@pytest.mark.skipif(not on_postgres(), reason="parallel sweepers need PostgreSQL's row locks")
def test_four_sweepers_fire_2000_timers_exactly_once(session_factory: Callable[[], Session],
                                                     clock: ManualClock) -> None:
    start_many(session_factory, 1000)  # two timers each: warning and deadline
    assert waiting(session_factory) == 2000
    clock.set(beijing("2026-10-12T09:00:00"))  # both due
    tally = Tally()
    results = []

    def run() -> None:
        results.append(sweep(session_factory, lambda s: Engine(s, SPECS, make_script_engine(), tally),
                             batch=25, max_batches=1000))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert len(tally.fired) == 2000 and set(tally.fired.values()) == {1}
    assert sum(r.fired for r in results) == 2000
    assert not any(r.errors for r in results)
    assert waiting(session_factory) == 0
    assert sum(1 for r in results if r.fired) >= 2, "the work was shared between sweepers"


def test_a_killed_sweeper_loses_no_timer_and_fires_none_twice(session_factory: Callable[[], Session],
                                                              clock: ManualClock) -> None:
    start_many(session_factory, 20)
    clock.set(beijing("2026-10-12T09:00:00"))
    with session_factory() as session:
        url = session.get_bind().url.render_as_string(hide_password=False)
    worker = subprocess.run([sys.executable, "-m", "tests.workflows.sweep_worker", url,
                             clock.now().isoformat(), "7"], cwd=ROOT, capture_output=True, timeout=120)
    assert worker.returncode == -9, worker.stderr.decode()[-2000:]
    left = waiting(session_factory)
    assert 0 < left < 40, "some instances were committed before the kill, the one in flight was not"
    tally = Tally()
    result = sweep(session_factory, lambda s: Engine(s, SPECS, make_script_engine(), tally))
    assert result.fired == left and set(tally.fired.values()) == {1}
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Timer).where(Timer.status == "fired")) == 40
        assert session.scalar(select(func.count()).select_from(ProcessInstance)
                              .where(ProcessInstance.status == "running")) == 20
