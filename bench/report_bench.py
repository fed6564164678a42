"""Report benchmark (issue 9): the monthly bulletin over 10 million ratings and 30,000 cases,
on PostgreSQL and on SQLite; target < 5 s on PostgreSQL.

    python bench/report_bench.py                              # SQLite file in a temp folder
    python bench/report_bench.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/report_bench.py --ratings 1000000            # a smaller store
    python bench/report_bench.py --database URL               # load into an empty URL (kept) …
    python bench/report_bench.py --database URL --no-load     # … then measure it again

The store is loaded set-based in SQL (a rating per service record, twelve months up to the
bulletin's month, the channel mix of ``hcp simulate``, 1 % follow-ups, 40 % real-name,
one bad rating in 333 — each with its case, 5 % of these excluded by an upheld appeal),
and each case with the rows the figures read: process instance, contact / rectify /
filing tasks, its rectification deadline timer and its history events. Secondary indexes
are built after the load, then the planner statistics are gathered (VACUUM ANALYZE /
ANALYZE), as a production database has them. It prints the load time, the bulletin's time
(cold, then warm) and the time of each part. Before the bulletin the ended months are
rolled up into their totals (what generating a bulletin does; the first time all twelve,
then one a month): its time is printed apart.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from app import create_app, migrate  # noqa: E402
from app.extensions import db  # noqa: E402
from app.identifiers import make_uscc  # noqa: E402
from app.models import Base, ItemKind  # noqa: E402
from app.services.bulletin import build  # noqa: E402
from app.services.dashboard import dashboard  # noqa: E402
from app.services.report_cases import case_figures  # noqa: E402
from app.services.report_charts import bad_by_dimension, monthly_trend  # noqa: E402
from app.services.report_period import GroupBy, Period  # noqa: E402
from app.services.report_ratings import coverage, rating_figures  # noqa: E402
from app.services.report_totals import roll_up_ended  # noqa: E402

from tests.db_support import fresh_database  # noqa: E402

DATA_KEY = "aGNwLWJlbmNoLWRhdGEta2V5LW5vdC1mb3ItcHJvZCE="
MONTH = Period.month("2026-10")
FIRST = Period.month("2025-11").start  # twelve months of ratings, up to the bulletin's month
AS_OF = MONTH.end + timedelta(days=1, hours=1)
DEPARTMENTS, ITEMS_PER_DEPARTMENT, STAFF_PER_DEPARTMENT = 60, 50, 20
BAD_EVERY = 333
# hcp simulate's channel mix, in percent: window 45, QR 15, web 15, app 15, terminal 5, hotline 3, SMS 2.
CHANNELS = ((45, "window_device"), (60, "qr_code"), (75, "web_portal"), (90, "mobile_app"), (95, "self_service"),
            (98, "hotline"), (100, "sms"))
HALL = ("window_device", "qr_code", "self_service")


class Sql:
    """The few expressions that differ between the two databases."""

    def __init__(self, dialect: str) -> None:
        self.pg = dialect == "postgresql"

    def series(self, count: int) -> tuple[str, str]:
        """(prefix, FROM clause) of the numbers 1..count as column n."""
        if self.pg:
            return "", f"generate_series(1::bigint, {count}) AS s(n)"
        return (f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) ", "s")

    def epoch(self, seconds: str) -> str:
        if self.pg:
            return f"to_timestamp({seconds})"
        return f"(strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000')"

    def plus_days(self, moment: str, days: str) -> str:
        if self.pg:
            return f"({moment} + ({days}) * interval '1 day')"
        return f"(strftime('%Y-%m-%d %H:%M:%S', {moment}, '+' || ({days}) || ' days') || '.000000')"

    def padded(self, number: str, width: int = 10) -> str:
        return f"lpad(({number})::text, {width}, '0')" if self.pg else f"printf('%0{width}d', {number})"

    def json(self, text: str) -> str:
        return f"'{text}'::jsonb" if self.pg else f"'{text}'"

    def true(self) -> str:
        return "true" if self.pg else "1"

    def false(self) -> str:
        return "false" if self.pg else "0"

    def run(self, connection: sa.Connection, statement: str) -> None:
        """Execute plain SQL (psycopg reads "%" as a placeholder: doubled there)."""
        connection.exec_driver_sql(statement.replace("%", "%%") if self.pg else statement)


def catalogue(connection: sa.Connection) -> None:
    now = datetime(2025, 10, 1, tzinfo=timezone.utc)
    meta = Base.metadata.tables
    connection.execute(sa.insert(meta["department"]), [
        {"id": d, "credit_code": make_uscc("11", "360100", f"{80_000_000 + d:08d}"), "name": f"基准部门{d:02d}",
         "short_name": f"部门{d:02d}", "region_code": "360100", "is_service_center": False, "active": True,
         "created_at": now} for d in range(1, DEPARTMENTS + 1)])
    connection.execute(sa.insert(meta["service_item"]), [
        {"id": i, "code": f"BENCH{i:06d}", "name": f"基准事项{i}", "kind": ItemKind.PUBLIC_SERVICE,
         "department_id": 1 + (i - 1) // ITEMS_PER_DEPARTMENT, "promised_days": 5, "active": True, "created_at": now}
        for i in range(1, DEPARTMENTS * ITEMS_PER_DEPARTMENT + 1)])
    connection.execute(sa.insert(meta["staff_member"]), [
        {"id": s, "department_id": 1 + (s - 1) // STAFF_PER_DEPARTMENT, "staff_no": f"G{s:05d}", "name": f"工作人员{s}",
         "window": None, "active": True, "created_at": now} for s in range(1, DEPARTMENTS * STAFF_PER_DEPARTMENT + 1)])


def load_ratings(connection: sa.Connection, sql: Sql, count: int) -> None:
    items = DEPARTMENTS * ITEMS_PER_DEPARTMENT
    span = int((MONTH.end - FIRST).total_seconds())
    start = int(FIRST.timestamp())
    item = f"(1 + ((n * 7919) % {items}))"
    department = f"(1 + ({item} - 1) / {ITEMS_PER_DEPARTMENT})"
    channel = "CASE " + " ".join(f"WHEN n % 100 < {limit} THEN '{name}'" for limit, name in CHANNELS) + " END"
    staff = (f"CASE WHEN n % 100 < 60 OR (n % 100 >= 90 AND n % 100 < 95) "
             f"THEN ({department} - 1) * {STAFF_PER_DEPARTMENT} + 1 + (n % {STAFF_PER_DEPARTMENT}) END")
    moment = sql.epoch(f"{start} + ((n - 1) * {span}) / {count}")
    prefix, source = sql.series(count)
    sql.run(connection,
        f"{prefix}INSERT INTO service_record (id, record_no, service_item_id, department_id, staff_member_id, "
        f"accepted_at, completed_at, awaiting_platform, created_at) SELECT n, 'B' || {sql.padded('n')}, {item}, "
        f"{department}, {staff}, {moment}, {moment}, {sql.false()}, {moment} FROM {source}")
    level = (f"CASE WHEN n % {BAD_EVERY} = 0 THEN (CASE WHEN (n / {BAD_EVERY}) % 3 = 0 THEN 'very_dissatisfied' "
             f"ELSE 'dissatisfied' END) WHEN n % 100 < 66 THEN 'very_satisfied' WHEN n % 100 < 94 THEN 'satisfied' "
             f"ELSE 'basically_satisfied' END")
    follow_up = "(n % 100 = 7 AND n > 1)"
    sql.run(connection,
        f"{prefix}INSERT INTO rating (id, source, external_id, service_record_id, service_item_id, department_id, "
        f"staff_member_id, channel, level, comment, sequence, region_code, evaluated_at, received_at, real_name, "
        f"evaluator_type, excluded, excluded_reason, created_at) SELECT n, 'bench', {sql.padded('n')}, "
        f"CASE WHEN {follow_up} THEN n - 1 ELSE n END, {item}, {department}, {staff}, {channel}, {level}, "
        f"CASE WHEN n % {BAD_EVERY} = 0 THEN '排队时间太长' END, CASE WHEN {follow_up} THEN 2 ELSE 1 END, '360100', "
        f"{moment}, {moment}, n % 5 < 2, 'person', "
        f"(n % {BAD_EVERY} = 0 AND (n / {BAD_EVERY}) % 20 = 0), "
        f"CASE WHEN n % {BAD_EVERY} = 0 AND (n / {BAD_EVERY}) % 20 = 0 THEN '申诉成立（误评）' END, {moment} "
        f"FROM {source}")
    sql.run(connection,
        f"INSERT INTO rating_dimension (rating_id, dimension) SELECT id, CASE (id / {BAD_EVERY}) % 4 "
        f"WHEN 0 THEN 'efficiency' WHEN 1 THEN 'materials' WHEN 2 THEN 'process' ELSE 'trips' END "
        f"FROM rating WHERE id % {BAD_EVERY} = 0")


def load_cases(connection: sa.Connection, sql: Sql, count: int) -> None:
    cases = count // BAD_EVERY
    k = f"(r.id / {BAD_EVERY})"
    is_open = f"({k} > {cases} - 300)"
    received = "r.received_at"
    sql.run(connection,
        "INSERT INTO wf_deployment (id, version, bpmn_files, form_files, sha256, note, deployed_by, deployed_at) "
        f"VALUES (1, 1, {sql.json('{}')}, {sql.json('{}')}, 'bench', 'bench', 'bench', {sql.epoch(str(int(FIRST.timestamp())))})")
    sql.run(connection,
        "INSERT INTO wf_instance (id, deployment_id, process_id, business_key, status, state, created_at, updated_at, "
        f"completed_at, revision) SELECT {k}, 1, 'bad_review', 'CP' || {sql.padded(k)}, "
        f"CASE WHEN {is_open} THEN 'running' ELSE 'completed' END, '{{}}', {received}, {received}, "
        f"CASE WHEN {is_open} THEN NULL ELSE {sql.plus_days(received, '4')} END, 1 "
        f"FROM rating r WHERE r.id % {BAD_EVERY} = 0")
    complex_case = f"({k} % 20 = 1)"
    rectify_due = sql.plus_days(received, f"CASE WHEN {complex_case} THEN 21 ELSE 7 END")
    closed_at = sql.plus_days(received, f"CASE WHEN {k} % 10 = 0 THEN 9 ELSE 4 END")
    sql.run(connection,
        "INSERT INTO case_file (id, case_no, rating_id, department_id, instance_id, status, stage, received_at, "
        "contact_due_at, rectify_due_at, deadlines_provisional, is_complex, overdue, reopen_count, outcome, opened_at, "
        f"closed_at, version) SELECT {k}, 'CP' || {sql.padded(k)}, r.id, r.department_id, {k}, "
        f"CASE WHEN {is_open} THEN 'open' ELSE 'closed' END, "
        f"CASE WHEN {is_open} THEN (CASE {k} % 3 WHEN 0 THEN 'contact' WHEN 1 THEN 'rectification' ELSE 'appeal' END) "
        f"ELSE 'closed' END, {received}, CASE WHEN r.real_name THEN {sql.plus_days(received, '3')} END, "
        f"{rectify_due}, {sql.false()}, {complex_case}, ({k} % 12 = 0), 0, "
        f"CASE WHEN {is_open} THEN NULL WHEN r.excluded THEN 'appeal_upheld' ELSE 'rectified' END, {received}, "
        f"CASE WHEN {is_open} THEN NULL ELSE {closed_at} END, 1 FROM rating r WHERE r.id % {BAD_EVERY} = 0")
    task_columns = ("INSERT INTO wf_task (instance_id, task_uuid, bpmn_id, name, lane, role, department_id, form, "
                    "stage, status, created_at, due_at, completed_at) ")
    for bpmn_id, day, condition in (("contact_citizen", "1", "c.contact_due_at IS NOT NULL"),
                                    ("rectify", "3", sql.true()),
                                    ("file_record", "4", "c.status = 'closed'")):
        done = f"c.status = 'closed' OR '{bpmn_id}' = 'contact_citizen'"
        sql.run(connection,
            f"{task_columns}SELECT c.instance_id, '{bpmn_id}-' || c.id, '{bpmn_id}', '{bpmn_id}', '部门经办人', "
            f"'handler', c.department_id, '{bpmn_id}', 'rectification', CASE WHEN {done} THEN 'completed' ELSE 'ready' END, "
            f"c.received_at, c.rectify_due_at, CASE WHEN {done} THEN {sql.plus_days('c.received_at', day)} END "
            f"FROM case_file c WHERE {condition}")
    sql.run(connection,
        "INSERT INTO wf_timer (instance_id, task_uuid, bpmn_id, name, kind, clock, attached_to, due_at, provisional, "
        "status, created_at) SELECT c.instance_id, 'rectify-deadline-' || c.id, 'rectify_deadline', '整改期限届满', "
        f"'deadline', 'rectify', 'rectification', c.rectify_due_at, {sql.false()}, 'cancelled', c.received_at "
        "FROM case_file c")
    events = (
        (1, "case_opened", "{}", sql.true(), "0"),
        (2, "task_completed", '{"task": "rectify", "values": {"action": "report"}}', "c.status = 'closed'", "3"),
        (3, "task_completed", '{"task": "return_visit", "values": {"visited": true}}',
         "c.status = 'closed' AND c.contact_due_at IS NOT NULL", "4"),
        (4, "appeal_filed", '{"task": "file_appeal"}', "c.id % 20 = 0", "2"),
        (5, "appeal_decided", '{"task": "decide_appeal", "values": {"appeal_decision": "upheld"}}', "c.id % 20 = 0",
         "3"))
    for seq, event, data, condition, day in events:
        sql.run(connection,
            "INSERT INTO case_event (case_id, seq, event, actor, occurred_at, data) "
            f"SELECT c.id, {seq}, '{event}', 'bench', {sql.plus_days('c.received_at', day)}, {sql.json(data)} "
            f"FROM case_file c WHERE {condition}")


@contextmanager
def timed(label: str, results: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    results[label] = time.perf_counter() - start
    print(f"  {label:<44} {results[label]:8.2f} s", flush=True)


def load(app: Any, count: int) -> None:
    with app.app_context():
        engine = db.engine
        sql = Sql(engine.dialect.name)
        bulky = [Base.metadata.tables[name] for name in ("rating", "service_record")]
        results: dict[str, float] = {}
        print(f"loading {count:,} ratings and {count // BAD_EVERY:,} cases into {engine.dialect.name} …", flush=True)
        with engine.begin() as connection:
            if sql.pg:  # the rows are consistent by construction: no per-row foreign-key triggers
                connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for table in bulky:  # built again after the load: much faster than row by row
                for index in table.indexes:
                    index.drop(connection)
            with timed("catalogue", results):
                catalogue(connection)
            with timed("ratings and service records", results):
                load_ratings(connection, sql, count)
            with timed("cases, tasks, timers, history", results):
                load_cases(connection, sql, count)
            with timed("secondary indexes", results):
                for table in bulky:
                    for index in table.indexes:
                        index.create(connection)
            if sql.pg:  # explicit ids were inserted: move the sequences past them
                for table in ("department", "service_item", "staff_member", "service_record", "rating", "case_file",
                              "wf_instance", "wf_deployment"):
                    sql.run(connection,
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        with timed("statistics (VACUUM ANALYZE / ANALYZE)", results):
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM ANALYZE" if sql.pg else "ANALYZE")
        print(f"  {'load total':<44} {sum(results.values()):8.2f} s")


def measure(app: Any, rounds: int) -> None:
    with app.app_context():
        session = db.session
        counts = session.execute(sa.text("SELECT (SELECT count(*) FROM rating), (SELECT count(*) FROM case_file)")).one()
        print(f"store: {counts[0]:,} ratings, {counts[1]:,} cases; bulletin of {MONTH.label}")
        with timed("roll-up of the ended months (once each)", {}):
            months = roll_up_ended(session, AS_OF)
            session.commit()
        print(f"  rolled up: {', '.join(months) or 'nothing new'}")
        parts: list[tuple[str, Callable[[], Any]]] = [
            ("ratings by department (month, totals)", lambda: rating_figures(session, MONTH, GroupBy.DEPARTMENT)),
            ("ratings by department (month, counted)",
             lambda: rating_figures(session, MONTH, GroupBy.DEPARTMENT, use_totals=False)),
            ("ratings by service item (month)", lambda: rating_figures(session, MONTH, GroupBy.ITEM)),
            ("ratings by staff member (month)", lambda: rating_figures(session, MONTH, GroupBy.STAFF)),
            ("cases by department (month)", lambda: case_figures(session, MONTH, GroupBy.DEPARTMENT, AS_OF)),
            ("coverage (month)", lambda: coverage(session, MONTH)),
            ("trend (12 months, totals)", lambda: monthly_trend(session, MONTH.months_back(12))),
            ("trend (12 months, counted)", lambda: monthly_trend(session, MONTH.months_back(12), use_totals=False)),
            ("heat map (month)", lambda: bad_by_dimension(session, MONTH)),
            ("ratings by department (a 10-day period)",
             lambda: rating_figures(session, Period(MONTH.first, MONTH.first + timedelta(days=9)), GroupBy.DEPARTMENT)),
            ("dashboard (one day)", lambda: dashboard(session, MONTH.end - timedelta(hours=10))),
        ]
        for number in range(1, rounds + 1):
            results: dict[str, float] = {}
            print(f"round {number} ({'cold' if number == 1 else 'warm'}):")
            with timed("BULLETIN (build: every figure, ranking, chart)", results):
                content = build(session, MONTH, AS_OF)
            session.rollback()
            for label, part in parts:
                with timed(label, results):
                    part()
                session.rollback()
        total = content["total"]
        print(f"bulletin: {total['ratings']['valid']:,} valid ratings, good {total['ratings']['good_rate']} %, "
              f"{total['cases']['opened']:,} cases, {len(content['departments'])} departments ranked, "
              f"{len(content['flagged'])} flagged")
        if db.engine.dialect.name == "postgresql":
            plan = session.execute(sa.text(
                "EXPLAIN SELECT department_id, level, excluded, sequence, count(*) FROM rating "
                "WHERE received_at >= :a AND received_at < :b GROUP BY 1, 2, 3, 4"),
                {"a": MONTH.start, "b": MONTH.end}).scalars().all()
            print("plan of the month's rating aggregate:\n  " + "\n  ".join(plan))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=10_000_000, help="ratings in the store (default 10,000,000)")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL server: a fresh database is made there")
    parser.add_argument("--database", metavar="URL", help="load into this empty database, and keep it")
    parser.add_argument("--no-load", action="store_true", help="measure the data already in --database")
    parser.add_argument("--rounds", type=int, default=2, help="measuring rounds (the first is cold)")
    args = parser.parse_args()
    if args.ratings < BAD_EVERY:
        parser.error(f"--ratings must be at least {BAD_EVERY}")
    with tempfile.TemporaryDirectory(prefix="hcp-report-bench-") as folder:
        if args.database:
            run(args.database, Path(folder), args)
        else:
            with fresh_database(Path(folder), args.postgres) as url:
                run(url, Path(folder), args)


def run(url: str, folder: Path, args: argparse.Namespace) -> None:
    app = create_app({"ENV": "testing", "DATABASE_URL": url, "SECRET_KEY": "bench-secret-key-not-for-production",
                      "DATA_KEYS": DATA_KEY, "INSTANCE_PATH": str(folder / "instance")})
    if not args.no_load:
        with app.app_context():
            migrate.upgrade(db.engine)
        load(app, args.ratings)
    measure(app, args.rounds)
    with app.app_context():
        db.engine.dispose()


if __name__ == "__main__":
    main()
