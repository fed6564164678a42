"""A sweeper in its own process, for the crash test: ``python -m tests.workflows.sweep_worker
URL NOW_ISO KILL_AFTER``. It fires timers and kills itself with SIGKILL right after the
KILL_AFTER-th timer fired, inside that instance's transaction (before its commit)."""

from __future__ import annotations

import os
import signal
import sys
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from workflows.clock import ManualClock, set_clock
from workflows.engine import Engine, EngineListener
from workflows.scripting import make_script_engine
from workflows.specs import SpecRegistry
from workflows.sweep import sweep


class KillAfter(EngineListener):
    def __init__(self, limit: int) -> None:
        self.limit, self.fired = limit, 0

    def timer_fired(self, session, instance, timer):  # type: ignore[override]
        self.fired += 1
        if self.fired >= self.limit:
            os.kill(os.getpid(), signal.SIGKILL)


def main(url: str, now: str, kill_after: int) -> None:
    set_clock(ManualClock(datetime.fromisoformat(now)))
    engine = sa.create_engine(url)
    listener, specs = KillAfter(kill_after), SpecRegistry()
    sweep(sessionmaker(engine, expire_on_commit=False),
          lambda session: Engine(session, specs, make_script_engine(), listener))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
