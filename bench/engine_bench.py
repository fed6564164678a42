"""Engine benchmark (issue 4): prints, for one process on SQLite or PostgreSQL,

- bad ratings opened as persisted cases per second (rating + case + process instance +
  first task, one transaction each, through the real case service),
- task completions per second (load, validate the form, run, mirror, save; one transaction
  each),
- the sweep's time for 1,000 due timers among 1,000 open cases, and for 1,000 due timers of
  the same kind (contact warnings) among many more open cases whose timers are not due (its
  cost must follow the due timers, not the open cases).

    python bench/engine_bench.py                       # SQLite file in a temp folder
    python bench/engine_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/engine_bench.py --background 100000   # open cases not due (default 20,000)

With --postgres a new database is created next to the one named, and dropped at the end.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app, migrate  # noqa: E402
from app.extensions import db  # noqa: E402
from app.identifiers import make_uscc  # noqa: E402
from app.models import (Channel, Department, ItemKind, Level, Rating, Role, ServiceItem,  # noqa: E402
                        ServiceRecord)
from app.services import case_tasks  # noqa: E402
from app.services.accounts import create_user  # noqa: E402
from app.services.cases import open_case  # noqa: E402
from app.services.engine_runtime import make_engine  # noqa: E402
from workflows.clock import ManualClock, set_clock  # noqa: E402
from workflows.sweep import sweep  # noqa: E402
from workflows.tables import HumanTask, Timer  # noqa: E402

from tests.db_support import fresh_database  # noqa: E402

BEIJING = timezone(timedelta(hours=8))
DATA_KEY = "aGNwLWJlbmNoLWRhdGEta2V5LW5vdC1mb3ItcHJvZCE="


class Fixture:
    def __init__(self) -> None:
        session = db.session
        self.dept = Department(credit_code=make_uscc("11", "360112", "24601999"), name="新建区医疗保障局",
                               short_name="医保局", region_code="360112")
        self.item = ServiceItem(code="BENCH0001", name="异地就医备案", kind=ItemKind.PUBLIC_SERVICE,
                                department=self.dept)
        session.add_all([self.dept, self.item])
        session.flush()
        self.handler = create_user(session, username="bench.handler", display_name="经办人",
                                   password="Bench-pass-1", roles=[Role.HANDLER], department=self.dept)
        session.commit()
        self.n = 0

    def rating(self, received: datetime) -> Rating:
        self.n += 1
        record = ServiceRecord(record_no=f"B{self.n:09d}", service_item_id=self.item.id,
                               department_id=self.dept.id, accepted_at=received)
        rating = Rating(source="bench", external_id=str(self.n), service_record=record,
                        service_item_id=self.item.id, department_id=self.dept.id,
                        channel=Channel.WINDOW_DEVICE, level=Level.DISSATISFIED, comment="等候时间太长",
                        evaluated_at=received, received_at=received, real_name=True)
        db.session.add(rating)
        db.session.flush()
        return rating


def open_cases(fixture: Fixture, count: int, received: datetime) -> float:
    started = time.perf_counter()
    for _ in range(count):
        open_case(db.session, fixture.rating(received))
        db.session.commit()
    return count / (time.perf_counter() - started)


def complete_triage(fixture: Fixture, limit: int) -> float:
    ids = db.session.scalars(sa.select(HumanTask.id).where(HumanTask.status == "ready",
                                                           HumanTask.bpmn_id == "triage")
                             .order_by(HumanTask.id).limit(limit)).all()
    started = time.perf_counter()
    for task_id in ids:
        case_tasks.complete(db.session, task_id, {"solved_on_spot": False}, fixture.handler)
        db.session.commit()
    return len(ids) / (time.perf_counter() - started)


def timed_sweep(clock: ManualClock, at: datetime) -> tuple[float, int]:
    clock.set(at)
    started = time.perf_counter()
    result = sweep(db.sessionmaker, make_engine, batch=50, max_batches=10_000)
    return time.perf_counter() - started, result.fired


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--cases", type=int, default=1000, help="cases opened and completed (default 1000)")
    parser.add_argument("--background", type=int, default=20_000,
                        help="extra open cases whose timers are not due (default 20,000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(Path(folder), args.postgres) as url:
        app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                          "DATA_KEYS": DATA_KEY, "INSTANCE_PATH": folder})
        with app.app_context():
            migrate.upgrade(db.engine)
            clock = ManualClock(datetime(2026, 9, 30, 10, tzinfo=BEIJING))
            set_clock(clock)
            fixture = Fixture()
            backend = db.engine.dialect.name
            print(f"engine benchmark on {backend}, one process")
            rate = open_cases(fixture, args.cases, clock.now())
            print(f"  cases opened (rating + case + instance + task): {rate:8.0f} /s  ({args.cases} cases)")
            rate = complete_triage(fixture, args.cases)
            print(f"  task completions (form, run, mirror, save):     {rate:8.0f} /s  ({args.cases} tasks)")
            # Cohort A's 1,000 contact warnings are due 2026-10-09T23:59:59+08:00; nothing else is.
            seconds, fired = timed_sweep(clock, datetime(2026, 10, 10, 8, tzinfo=BEIJING))
            print(f"  sweep, {fired} due contact warnings among {args.cases} open cases: {seconds:6.2f} s "
                  f"({1000 * seconds / max(fired, 1):.1f} ms per timer)")
            # Fire the rest of cohort A's contact timers (untimed), so that the next sweep
            # finds only cohort B's warnings: the same kind of timer, among many more cases.
            timed_sweep(clock, datetime(2026, 11, 2, 9, tzinfo=BEIJING))
            clock.set(datetime(2026, 11, 2, 10, tzinfo=BEIJING))  # cohort B: warnings due 11-04 23:59:59
            open_cases(fixture, args.cases, clock.now())
            complete_triage(fixture, args.cases)
            clock.set(datetime(2026, 11, 3, 10, tzinfo=BEIJING))  # the background: nothing due before 11-05 23:59:59
            open_cases(fixture, args.background, clock.now())
            complete_triage(fixture, args.background)
            waiting = db.session.scalar(sa.select(sa.func.count()).select_from(Timer)
                                        .where(Timer.status == "waiting"))
            seconds, fired = timed_sweep(clock, datetime(2026, 11, 5, 8, tzinfo=BEIJING))
            total = 2 * args.cases + args.background
            print(f"  sweep, {fired} due contact warnings among {total} open cases ({waiting} waiting timers): "
                  f"{seconds:6.2f} s ({1000 * seconds / max(fired, 1):.1f} ms per timer)")

if __name__ == "__main__":
    main()
