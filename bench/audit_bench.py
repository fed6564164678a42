"""Audit benchmark (issue 8): prints

- the replay-verify time of a case with about 50 history events (median and p95 of
  repeated runs; target median < 100 ms), worked through the real case service;
- the rate of `hcp audit verify`'s whole-history check over many cases (synthetic,
  correctly chained histories of 10 events each, written in bulk).

    python bench/audit_bench.py                       # SQLite file in a temp folder
    python bench/audit_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/audit_bench.py --cases 100000 --runs 50
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app, migrate  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import (Case, CaseEvent, CaseStatus, Channel, Level, Rating, Role,  # noqa: E402
                        ServiceRecord, User)
from app.services import case_tasks  # noqa: E402
from app.services.accounts import create_user  # noqa: E402
from app.services.case_replay import replay_case  # noqa: E402
from app.services.cases import open_case  # noqa: E402
from app.services.history_chain import GENESIS, canonical, link, verify_all  # noqa: E402
from workflows.clock import ManualClock, set_clock  # noqa: E402
from workflows.tables import HumanTask  # noqa: E402

from engine_bench import BEIJING, DATA_KEY, Fixture  # noqa: E402
from tests.db_support import fresh_database  # noqa: E402

REPORTED = {"action": "report", "measures": "优化窗口排队流程", "result": "已整改并电话告知群众"}
CONTACTED = {"contacted": True, "contact_method": "phone", "contacted_at": "2026-10-08T09:30:00+08:00",
             "citizen_request": "希望减少跑动次数", "problem_exists": True}
UNHAPPY = {"visited": True, "visit_method": "phone", "citizen_satisfied": False, "citizen_opinion": "仍不满意"}


def work(clock: ManualClock, case: Case, bpmn_id: str, user: User, values: dict[str, object]) -> None:
    clock.advance(timedelta(minutes=30))
    task = db.session.scalar(sa.select(HumanTask).where(HumanTask.instance_id == case.instance_id,
                                                        HumanTask.status == "ready"))
    assert task is not None and task.bpmn_id == bpmn_id, (task and task.bpmn_id, bpmn_id)
    case_tasks.claim(db.session, task.id, user)
    case_tasks.unclaim(db.session, task.id, user)
    case_tasks.claim(db.session, task.id, user)
    case_tasks.complete(db.session, task.id, values, user)
    db.session.commit()


def long_case(fixture: Fixture, clock: ManualClock) -> Case:
    """A real-name case reopened twice and closed by the supervisor: about 50 events."""
    session = db.session
    lead = create_user(session, username="bench.lead", display_name="负责人", password="Bench-pass-1",
                       roles=[Role.LEAD], department=fixture.dept)
    supervisor = create_user(session, username="bench.sup", display_name="督办", password="Bench-pass-1",
                             roles=[Role.SUPERVISOR])
    rating = fixture.rating(clock.now())
    rating.real_name = True
    case = open_case(session, rating)
    session.commit()
    handler = fixture.handler
    work(clock, case, "triage", handler, {"solved_on_spot": False})
    work(clock, case, "contact_citizen", handler, CONTACTED)
    for _ in range(3):
        work(clock, case, "rectify", handler, REPORTED)
        work(clock, case, "return_visit", handler, UNHAPPY)
    work(clock, case, "supervisor_decide", supervisor, {"supervisor_decision": "close",
                                                        "supervisor_opinion": "已尽力整改"})
    work(clock, case, "file_record", lead, {"filing_summary": "督办裁定办结"})
    return case


def replay_times(case: Case, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = replay_case(db.session, case)
        times.append(time.perf_counter() - started)
        assert result.consistent, result.describe()
    return times


def synthetic_histories(fixture: Fixture, cases: int, events_per_case: int = 10) -> None:
    """Many cases with correctly chained histories, written in bulk (no engine)."""
    session = db.session
    start = datetime(2026, 6, 1, 1, tzinfo=timezone.utc)
    step = 5000
    for first in range(0, cases, step):
        n = min(step, cases - first)
        records = session.execute(sa.insert(ServiceRecord).returning(ServiceRecord.id, sort_by_parameter_order=True), [
            {"record_no": f"SYN{first + i:09d}", "service_item_id": fixture.item.id, "department_id": fixture.dept.id}
            for i in range(n)]).scalars().all()
        ratings = session.execute(sa.insert(Rating).returning(Rating.id, sort_by_parameter_order=True), [
            {"source": "synthetic", "external_id": f"SYN{first + i}", "service_record_id": records[i],
             "service_item_id": fixture.item.id, "department_id": fixture.dept.id, "channel": Channel.WINDOW_DEVICE,
             "level": Level.DISSATISFIED, "evaluated_at": start, "received_at": start, "sequence": 1}
            for i in range(n)]).scalars().all()
        case_rows, event_rows = [], []
        for i in range(n):
            case_no = f"SY{first + i:012d}"
            prev = GENESIS
            for seq in range(1, events_per_case + 1):
                at = start + timedelta(minutes=seq)
                data = {"task": "triage", "values": {"solved_on_spot": False}, "n": seq}
                digest = link(prev, canonical(case_no, seq, "task_completed", None, "bench", at, data))
                event_rows.append({"case_no": case_no, "seq": seq, "event": "task_completed", "actor": "bench",
                                   "occurred_at": at, "data": data, "prev_hash": prev, "hash": digest})
                prev = digest
            case_rows.append({"case_no": case_no, "rating_id": ratings[i], "department_id": fixture.dept.id,
                              "status": CaseStatus.CLOSED, "received_at": start, "history_count": events_per_case,
                              "history_head": prev})
        ids = dict(zip([r["case_no"] for r in case_rows], session.execute(
            sa.insert(Case).returning(Case.id, sort_by_parameter_order=True), case_rows).scalars().all(), strict=True))
        session.execute(sa.insert(CaseEvent), [{**{k: v for k, v in row.items() if k != "case_no"},
                                                "case_id": ids[row["case_no"]]} for row in event_rows])
        session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--runs", type=int, default=30, help="replays of the long case (default 30)")
    parser.add_argument("--cases", type=int, default=100_000, help="cases for the whole-history check")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(Path(folder), args.postgres) as url:
        app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                          "DATA_KEYS": DATA_KEY, "INSTANCE_PATH": folder})
        with app.app_context():
            migrate.upgrade(db.engine)
            clock = ManualClock(datetime(2026, 9, 30, 10, tzinfo=BEIJING))
            set_clock(clock)
            fixture = Fixture()
            print(f"audit benchmark on {db.engine.dialect.name}")
            case = long_case(fixture, clock)
            times = replay_times(case, args.runs)
            p95 = sorted(times)[max(0, round(0.95 * len(times)) - 1)]
            print(f"  replay-verify of a case with {case.history_count} events: median "
                  f"{statistics.median(times) * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms ({args.runs} runs)")
            started = time.perf_counter()
            synthetic_histories(fixture, args.cases)
            print(f"  ({args.cases} synthetic case histories written in {time.perf_counter() - started:.0f} s)")
            db.session.expunge_all()
            started = time.perf_counter()
            summary = verify_all(db.session)
            seconds = time.perf_counter() - started
            assert not summary.broken, [c.describe() for c in summary.broken[:3]]
            print(f"  whole-history verification: {summary.cases} cases, {summary.events} events in "
                  f"{seconds:.1f} s = {summary.cases / seconds:,.0f} cases/s, {summary.events / seconds:,.0f} events/s")


if __name__ == "__main__":
    main()
