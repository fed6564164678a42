"""API fuzzing (issue 10, item 4): schemathesis generates requests from GET
/api/v1/openapi.json for every operation — ones that fit the schema and ones that do not —
and sends them in process to the app on a fresh database, with a valid API key or personal
token. Prints the requests by status; fails (exit 1) on any 5xx, any answer that does not
fit its documented schema, or any schema-violating request that was accepted.

    python bench/fuzz_api.py                          # 10,000 requests, SQLite in a temp folder
    python bench/fuzz_api.py --requests 20000 --seed 7
    python bench/fuzz_api.py --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test

The checks and the way requests are pointed at real objects are in tests/security/api_fuzzing.py
(the test suite runs the same with a few hundred requests).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app, migrate  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services import calendar_years  # noqa: E402

from tests.db_support import fresh_database  # noqa: E402
from tests.security.api_fuzzing import FuzzReport, fuzz, generous_rate_limit, make_world  # noqa: E402

DATA_KEY = "aGNwLWJlbmNoLWRhdGEta2V5LW5vdC1mb3ItcHJvZCE="
OPERATIONS_AND_MODES = 11  # 6 operations × 2 modes, less GET /cases/{case_no} negative (a free string)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", help="PostgreSQL URL (default: SQLite in a temp folder)")
    parser.add_argument("--requests", type=int, default=10_000, help="at least this many generated requests")
    parser.add_argument("--seed", type=int, default=2026, help="first hypothesis seed (one more per round)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(Path(folder), args.postgres) as url:
        # Production settings: an unhandled error is answered 500 (and logged), as it would be.
        app = create_app({"ENV": "production", "DATABASE_URL": url, "SECRET_KEY": "f" * 40, "DATA_KEYS": DATA_KEY,
                          "INSTANCE_PATH": folder})
        report = FuzzReport()
        with app.app_context():
            migrate.upgrade(db.engine)
            calendar_years.reset_calendar()
            world = make_world(db.session, cases=30)
            backend = app.config["DATABASE_URL"].get_backend_name()
            print(f"API fuzzing on {backend}: schemathesis, every operation, positive and negative, "
                  f"at least {args.requests} requests")
            started, round_seed = time.perf_counter(), args.seed
            per_round = max(50, args.requests // (OPERATIONS_AND_MODES * 4))
            with generous_rate_limit(app):
                while report.requests < args.requests:
                    fuzz(app, world, examples=per_round, seed_value=round_seed, report=report)
                    round_seed += 1
                    print(f"  … {report.requests} requests ({time.perf_counter() - started:.0f} s)", flush=True)
            elapsed = time.perf_counter() - started
            db.session.close()
            db.engine.dispose()
    print_report(report, elapsed)
    return 1 if report.failures else 0


def print_report(report: FuzzReport, elapsed: float) -> None:
    statuses = report.by_status()
    print(f"\n{report.requests} requests in {elapsed:.0f} s ({report.requests / elapsed:.0f}/s)")
    print("by status: " + ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items())))
    operations: Counter[tuple[str, str]] = Counter()
    for (operation, mode, _status), n in report.statuses.items():
        operations[(operation, mode)] += n
    for (operation, mode), total in sorted(operations.items()):
        spread = ", ".join(f"{status}: {n}" for (op, m, status), n in sorted(report.statuses.items())
                           if (op, m) == (operation, mode))
        print(f"  {operation:<42} {mode:<8} {total:>6}   {spread}")
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    print(f"5xx answers: {server_errors}")
    print(f"schema-violating requests answered 2xx: {report.negative_answered_2xx()} "
          f"(rating batches, judged rating by rating); accepted although invalid: {report.invalid_accepted}")
    print(f"answers that broke a check: {len(report.failures)}")
    for failure in report.failures[:20]:
        print("  " + failure)
    if report.unsatisfiable:
        print("no schema-violating request possible for: " + ", ".join(sorted(set(report.unsatisfiable))))


if __name__ == "__main__":
    sys.exit(main())
