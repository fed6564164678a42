"""Inbox benchmark (issue 6): server time of the inbox page and of ``GET /api/v1/tasks`` with
100,000 open cases in the database — median and p95 over repeated requests of a signed-in
handler (and a verifier), through the Flask test client (routing, session, queries,
template), on SQLite or PostgreSQL.

    python bench/inbox_bench.py                        # SQLite file in a temp folder
    python bench/inbox_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/inbox_bench.py --cases 100000 --departments 40 --share 0.2 --explain

The cases are written with bulk Core inserts of consistent rows (rating, service record,
case, process instance, its open task and the tasks done before it) — the engine is not
run, since what is measured is reading the inbox. ``--share`` puts that fraction of all
cases in the benchmarked handler's department (default: an even share).
With --postgres a new database is created next to the one named, and dropped at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import calendars  # noqa: E402
from app import create_app, migrate  # noqa: E402
from app.extensions import db  # noqa: E402
from app.identifiers import make_uscc  # noqa: E402
from app.models import (Case, CaseStage, CaseStatus, Channel, Department, Dimension, ItemKind,  # noqa: E402
                        Level, Rating, RatingDimension, Role, ServiceItem, ServiceRecord, User, UserRole)
from app.services.accounts import create_user  # noqa: E402
from app.services.engine_runtime import current_deployment  # noqa: E402
from app.services.user_tokens import create_token  # noqa: E402
from workflows.clock import ManualClock, set_clock  # noqa: E402
from workflows.tables import HumanTask, ProcessInstance  # noqa: E402

from tests.db_support import fresh_database  # noqa: E402

BEIJING = timezone(timedelta(hours=8))
DATA_KEY = "aGNwLWJlbmNoLWRhdGEta2V5LW5vdC1mb3ItcHJvZCE="
PASSWORD = "Bench-pass-1"
NOW = datetime(2026, 11, 20, 10, tzinfo=BEIJING)
BATCH = 5_000
HANDLERS_PER_DEPARTMENT = 5
# (open task, its stage, lane role, tasks done before it, weight)
PATHS = [
    ("triage", "on_spot", "handler", [], 35),
    ("contact_citizen", "contact", "handler", ["triage"], 25),
    ("rectify", "rectification", "handler", ["triage", "contact_citizen"], 25),
    ("return_visit", "return_visit", "handler", ["triage", "contact_citizen", "rectify"], 6),
    ("file_record", "filing", "lead", ["triage", "contact_citizen", "rectify", "return_visit"], 3),
    ("decide_appeal", "appeal", "verifier", ["triage", "contact_citizen", "rectify", "file_appeal"], 4),
    ("supervisor_decide", "supervisor_decision", "supervisor", ["triage", "contact_citizen", "rectify"], 2),
]
NAMES = {"triage": "初步处置", "contact_citizen": "联系群众", "rectify": "整改处置", "return_visit": "回访",
         "file_record": "备案", "decide_appeal": "申诉审核", "supervisor_decide": "督办裁定", "file_appeal": "提出申诉"}
FORMS = {"triage": "on_spot_record", "contact_citizen": "contact_record", "rectify": "rectification_report",
         "return_visit": "return_visit", "file_record": "filing", "decide_appeal": "appeal_decision",
         "supervisor_decide": "supervisor_decision", "file_appeal": "appeal"}
LANES = {"handler": "部门经办人", "lead": "部门负责人", "verifier": "审核员", "supervisor": "效能监督员"}


class World:
    """Departments, people and service items; the benchmarked users are in department 0."""

    def __init__(self, departments: int) -> None:
        session = db.session
        self.departments: list[Department] = []
        for n in range(departments + 1):
            centre = n == departments
            name = "新建区政务服务中心" if centre else f"新建区第{n + 1}局"
            dept = Department(credit_code=make_uscc("11", "360112", f"{24_700_000 + n:08d}"), name=name,
                              short_name=name[3:], region_code="360112", is_service_center=centre)
            session.add(dept)
            self.departments.append(dept)
        session.flush()
        self.items: dict[int, list[int]] = {}
        for dept in self.departments[:-1]:
            items = [ServiceItem(code=f"BENCH{dept.id:03d}{k:03d}", name=f"{dept.short_name}事项{k + 1:02d}",
                                 kind=ItemKind.PUBLIC_SERVICE, department=dept) for k in range(8)]
            session.add_all(items)
            session.flush()
            self.items[dept.id] = [item.id for item in items]
        home, centre = self.departments[0], self.departments[-1]
        self.handler = create_user(session, username="bench.handler", display_name="张经办", password=PASSWORD,
                                   roles=[Role.HANDLER], department=home)
        self.lead = create_user(session, username="bench.lead", display_name="李科长", password=PASSWORD,
                                roles=[Role.LEAD], department=home)
        self.verifier = create_user(session, username="bench.verifier", display_name="王审核", password=PASSWORD,
                                    roles=[Role.VERIFIER], department=centre)
        session.flush()
        # Colleagues without a usable password (bulk rows): they hold and complete tasks.
        hashed = self.handler.password_hash
        self.handlers: dict[int, list[int]] = {home.id: [self.handler.id]}
        rows, roles = [], []
        next_id = (session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1
        for dept in self.departments[:-1]:
            count = HANDLERS_PER_DEPARTMENT - (1 if dept is home else 0)
            for k in range(count):
                rows.append({"id": next_id, "username": f"h{dept.id}.{k}", "display_name": f"经办{dept.id}-{k}",
                             "password_hash": hashed, "department_id": dept.id, "active": True,
                             "failed_logins": 0})
                roles.append({"user_id": next_id, "role": Role.HANDLER})
                self.handlers.setdefault(dept.id, []).append(next_id)
                next_id += 1
        session.execute(sa.insert(User), rows)
        session.execute(sa.insert(UserRole), roles)
        session.commit()


@contextmanager
def timed(label: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    print(f"  {label}: {time.perf_counter() - started:6.1f} s")


def build_cases(world: World, total: int, share: float | None, rng: random.Random) -> None:
    session = db.session
    deployment_id = current_deployment(session).id
    session.commit()
    departments = world.departments[:-1]
    home = departments[0]
    weights = [share if dept is home else (1 - share) / (len(departments) - 1) for dept in departments] \
        if share else None
    paths = [p for p in PATHS for _ in range(p[4])]
    deadlines: dict[tuple[object, int], datetime] = {}

    def deadline(received: datetime, days: int) -> datetime:
        key = (received.astimezone(BEIJING).date(), days)
        if key not in deadlines:
            deadlines[key] = calendars.deadline(received, days)
        return deadlines[key]

    ids = {"task": 1}
    for start in range(0, total, BATCH):
        records, ratings, dimensions, instances, cases, tasks = [], [], [], [], [], []
        for n in range(start + 1, min(total, start + BATCH) + 1):
            dept = rng.choices(departments, weights)[0] if weights else departments[n % len(departments)]
            received = NOW - timedelta(days=rng.uniform(0, 25))
            bpmn_id, stage, role, done, _ = rng.choice(paths)
            contact_due, rectify_due = deadline(received, 3), deadline(received, 5)
            item = rng.choice(world.items[dept.id])
            case_no = f"CP{received.astimezone(BEIJING):%Y%m%d}{n:07d}"
            records.append({"id": n, "record_no": f"B{n:09d}", "service_item_id": item, "department_id": dept.id,
                            "accepted_at": received, "awaiting_platform": False})
            ratings.append({"id": n, "source": "bench", "external_id": str(n), "service_record_id": n,
                            "service_item_id": item, "department_id": dept.id, "channel": Channel.WINDOW_DEVICE,
                            "level": rng.choice([Level.DISSATISFIED, Level.VERY_DISSATISFIED]),
                            "comment": "等候时间太长", "sequence": 1, "evaluated_at": received,
                            "received_at": received, "real_name": True, "excluded": False})
            for dimension in rng.sample(list(Dimension), rng.choice([1, 1, 2, 3])):
                dimensions.append({"rating_id": n, "dimension": dimension})
            instances.append({"id": n, "deployment_id": deployment_id, "process_id": "bad_review",
                              "business_key": case_no, "status": "running", "state": {}, "created_at": received,
                              "updated_at": received, "revision": 1})
            clock_due = {"on_spot": contact_due, "contact": contact_due, "rectification": rectify_due}.get(stage)
            overdue = clock_due is not None and clock_due < NOW
            cases.append({"id": n, "case_no": case_no, "rating_id": n, "department_id": dept.id, "instance_id": n,
                          "status": CaseStatus.OPEN, "stage": CaseStage(stage), "received_at": received,
                          "contact_due_at": contact_due, "rectify_due_at": rectify_due,
                          "deadlines_provisional": False, "is_complex": False, "overdue": overdue,
                          "reopen_count": 0, "version": 1})
            people = world.handlers[dept.id]
            moment = received
            for previous in done:
                moment += timedelta(hours=rng.uniform(1, 20))
                worker = rng.choice(people)
                tasks.append(_task(ids, n, previous, "handler", dept.id, received, None, "completed",
                                   worker, moment, worker, moment))
            due = clock_due if not (overdue and rng.random() < 0.5) else None  # a fired timer leaves none
            claimed = rng.choice(people) if role == "handler" and rng.random() < 0.6 else None
            tasks.append(_task(ids, n, bpmn_id, role, dept.id if role in ("handler", "lead") else None, moment, due,
                               "ready", claimed, moment if claimed else None, None, None, stage=stage))
        for model, rows in ((ServiceRecord, records), (Rating, ratings), (RatingDimension, dimensions),
                            (ProcessInstance, instances), (Case, cases), (HumanTask, tasks)):
            session.execute(sa.insert(model), rows)
        session.commit()
    if db.engine.dialect.name == "postgresql":
        for table in ("service_record", "rating", "wf_instance", "case_file", "wf_task"):
            session.execute(sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))"))
        session.execute(sa.text("ANALYZE"))
    else:
        session.execute(sa.text("ANALYZE"))
    session.commit()


def _task(ids: dict[str, int], instance: int, bpmn_id: str, role: str, department: int | None, created: datetime,
          due: datetime | None, status: str, claimed_by: int | None, claimed_at: datetime | None,
          completed_by: int | None, completed_at: datetime | None, stage: str | None = None) -> dict[str, Any]:
    ids["task"] += 1
    stages = {"triage": "on_spot", "contact_citizen": "contact", "rectify": "rectification",
              "return_visit": "return_visit", "file_appeal": "appeal"}
    return {"id": ids["task"], "instance_id": instance, "task_uuid": str(uuid.uuid4()), "bpmn_id": bpmn_id,
            "name": NAMES[bpmn_id], "lane": LANES[role], "role": role, "department_id": department,
            "form": FORMS[bpmn_id], "stage": stage or stages.get(bpmn_id), "status": status, "created_at": created,
            "due_at": due, "claimed_by": claimed_by, "claimed_at": claimed_at, "completed_by": completed_by,
            "completed_at": completed_at}


def sign_in(app: Any, username: str) -> Any:
    import re

    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302, "sign-in failed"
    return client


def measure(label: str, call: Callable[[], Any], repeat: int) -> None:
    for _ in range(5):
        response = call()
        assert response.status_code == 200, (label, response.status_code, response.get_data(as_text=True)[:300])
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    times.sort()
    p95 = times[max(0, int(round(0.95 * len(times))) - 1)]
    print(f"  {label:<52} median {statistics.median(times):6.1f} ms   p95 {p95:6.1f} ms")


@contextmanager
def captured(engine: sa.Engine, statements: list[tuple[str, Any]]) -> Iterator[None]:
    def remember(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", remember)
    try:
        yield
    finally:
        sa.event.remove(engine, "before_cursor_execute", remember)


def explain(engine: sa.Engine, label: str, call: Callable[[], Any]) -> None:
    """The plans of the task queries of one request (run outside any app context, as a
    request runs: each request gets its own session and its own signed-in user)."""
    statements: list[tuple[str, Any]] = []
    with captured(engine, statements):
        assert call().status_code == 200
    postgres = engine.dialect.name == "postgresql"
    print(f"\n--- query plans: {label}")
    with engine.connect() as connection:
        for statement, parameters in statements:
            if "FROM wf_task" not in statement:
                continue  # the user, the deployment, the calendar check, saved filters …
            prefix = "EXPLAIN (ANALYZE, BUFFERS OFF) " if postgres else "EXPLAIN QUERY PLAN "
            rows = connection.exec_driver_sql(prefix + statement, parameters).fetchall()
            print("  " + " ".join(statement.split())[:150] + " …")
            for row in rows:
                print("     ", row[0] if postgres else row[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--cases", type=int, default=100_000, help="open cases (default 100,000)")
    parser.add_argument("--departments", type=int, default=40, help="departments (default 40)")
    parser.add_argument("--share", type=float, help="fraction of the cases in the handler's department")
    parser.add_argument("--repeat", type=int, default=200, help="timed requests per measurement (default 200)")
    parser.add_argument("--explain", action="store_true", help="print the query plans of the inbox queries")
    args = parser.parse_args()
    rng = random.Random(6)
    with tempfile.TemporaryDirectory() as folder, fresh_database(Path(folder), args.postgres) as url:
        app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "b" * 40,
                          "DATA_KEYS": DATA_KEY, "INSTANCE_PATH": folder})
        with app.app_context():
            migrate.upgrade(db.engine)
            set_clock(ManualClock(NOW))
            print(f"inbox benchmark on {db.engine.dialect.name}: {args.cases:,} open cases, "
                  f"{args.departments} departments")
            with timed("people and service items"):
                world = World(args.departments)
            with timed(f"{args.cases:,} open cases (bulk insert)"):
                build_cases(world, args.cases, args.share, rng)
            counts = {label: db.session.scalar(query) for label, query in (
                ("tasks", sa.select(sa.func.count()).select_from(HumanTask)),
                ("open tasks of the department", sa.select(sa.func.count()).select_from(HumanTask).where(
                    HumanTask.status == "ready", HumanTask.department_id == world.handler.department_id)),
                ("held by the handler", sa.select(sa.func.count()).select_from(HumanTask).where(
                    HumanTask.status == "ready", HumanTask.claimed_by == world.handler.id)),
                ("done by the handler", sa.select(sa.func.count()).select_from(HumanTask).where(
                    HumanTask.completed_by == world.handler.id)))}
            print("  " + ", ".join(f"{label}: {value:,}" for label, value in counts.items()))
            _record, token = create_token(db.session, world.handler, "bench")
            db.session.commit()
        handler, verifier = sign_in(app, "bench.handler"), sign_in(app, "bench.verifier")
        lead, api = sign_in(app, "bench.lead"), app.test_client()
        bearer = {"Authorization": f"Bearer {token}"}
        pages: list[tuple[str, Callable[[], Any]]] = [
            ("page: my tasks", lambda: handler.get("/inbox")),
            ("page: department, unclaimed (by deadline)", lambda: handler.get("/inbox?tab=department")),
            ("page: department, sorted by service item", lambda: handler.get("/inbox?tab=department&sort=item")),
            ("page: department, overdue only", lambda: handler.get("/inbox?tab=department&overdue=1")),
            ("page: department, page 20", lambda: handler.get("/inbox?tab=department&page=20")),
            ("page: completed by me", lambda: handler.get("/inbox?tab=done")),
            ("page: lead, all of the department", lambda: lead.get("/inbox?tab=team")),
            ("page: verifier, appeals to decide", lambda: verifier.get("/inbox?tab=verify")),
            ("API: GET /api/v1/tasks", lambda: api.get("/api/v1/tasks", headers=bearer)),
            ("API: GET /api/v1/tasks?tab=department", lambda: api.get("/api/v1/tasks?tab=department", headers=bearer)),
        ]
        print(f"server time per request ({args.repeat} timed requests each, after 5 untimed):")
        for label, call in pages:
            measure(label, call, args.repeat)
        if args.explain:
            with app.app_context():
                engine = db.engine
            for label, call in pages[:2] + pages[5:8]:
                explain(engine, label, call)


if __name__ == "__main__":
    main()
