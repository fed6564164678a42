"""Database outage (issue 10, item 2): the API under gunicorn and an ``hcp worker`` reach
PostgreSQL through a proxy (``db_proxy``) that is cut for a while during intake, as if the
server had stopped: every connection breaks and new ones are refused.

While it is cut, every rating answers 503 with a Retry-After header and a JSON error (no
500, no traceback); the processes keep running. When the link returns, the API accepts
again by itself (no restart), the ratings refused during the outage are accepted as new
(nothing was half-stored), the worker sweeps and pushes again, and ``checks`` holds.

    python -m tests.reliability.outage_drill --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python -m tests.reliability.outage_drill --postgres URL --outage 30
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import sessionmaker

from ..db_support import fresh_database
from .checks import Findings, Ledger, check
from .crash_harness import settled
from .db_proxy import CuttableProxy
from .system import Answer, Gunicorn, Logs, RatingSource, Stub, Worker, prepare, rating_body, wait_until

CLOCK_AHEAD = timedelta(days=30)  # the worker's clock: every timer of a new case is due


@dataclass
class OutageReport:
    outage_seconds: float = 0.0
    refused: int = 0  # requests answered 503 during the outage
    recovery_seconds: float = 0.0  # from the link's return to the first rating accepted
    failed_after_return: int = 0  # requests not accepted after the link returned
    worker_alive: bool = False
    web_log_tracebacks: int = 0
    worker_log_lines: int = 0
    batch_retries: int = 0  # batches the second source had to send again (503 or broken off)
    findings: Findings = field(default_factory=Findings)
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"database cut for {self.outage_seconds:.1f} s: {self.refused} requests answered 503 with Retry-After",
                f"first rating accepted {self.recovery_seconds:.2f} s after the database returned "
                f"({self.failed_after_return} refused after its return); batches sent again by the second "
                f"source: {self.batch_retries}",
                f"worker survived the outage: {self.worker_alive}; tracebacks in the web log: "
                f"{self.web_log_tracebacks}; lines in the worker's log: {self.worker_log_lines}", *self.findings.lines(),
                "problems: " + ("none" if not self.problems else str(len(self.problems)))]


def outage_answer_problem(answer: Answer) -> str | None:
    """What is wrong with an answer given while the database is away, if anything."""
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    if answer.status != 503:
        return f"HTTP {answer.status} during the outage: {answer.raw[:300]!r}"
    if not answer.headers.get("retry-after", "").isdigit():
        return f"503 without a Retry-After header in seconds: {answer.headers}"
    if not answer.headers.get("content-type", "").startswith("application/json") or not isinstance(error, dict) \
            or error.get("status") != 503 or not error.get("message"):
        return f"503 without the JSON error body: {answer.raw[:300]!r}"
    if b"Traceback" in answer.raw or b"psycopg" in answer.raw or b"sqlalchemy" in answer.raw.lower():
        return f"503 that shows internals: {answer.raw[:300]!r}"
    return None


def send_batches(source: RatingSource, ledger: Ledger, department_code: str, stop: threading.Event) -> None:
    rng = random.Random(20)
    for n in range(1_000_000):
        if stop.is_set():
            return
        bodies = [rating_body(f"b-{n}-{i}", rng, department_code, bad_share=0.3) for i in range(10)]
        ledger.note(source.post({"evaluations": bodies}), bodies, batch=True)


def run(database_url: str, folder: Path, *, outage: float = 4.0, log=print) -> OutageReport:
    report = OutageReport()
    district = prepare(database_url, folder)
    url = sa.make_url(database_url)
    proxy = CuttableProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.restore()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    logs, stub = Logs(folder), Stub(folder)
    env = district.settings(proxied, HCP_PROVINCE_URL=stub.url)
    web = Gunicorn(env, logs)
    worker = Worker(env, logs, "hcp-worker", interval=1, clock_ahead=CLOCK_AHEAD)
    engine = sa.create_engine(database_url, pool_pre_ping=True)  # the checks' own link, not through the proxy
    session_factory = sessionmaker(engine)
    ledger, source = Ledger(), RatingSource(web.port, district.token)
    numbers = iter(range(1, 1_000_000))
    rng = random.Random(10)

    def ratings(count: int) -> list[dict[str, Any]]:
        return [rating_body(f"o-{next(numbers)}", rng, district.department_code, bad_share=0.3) for _ in range(count)]

    def due_now() -> datetime:
        return datetime.now(timezone.utc) + CLOCK_AHEAD - timedelta(seconds=5)

    stop = threading.Event()
    try:
        web.start()
        worker.start()
        for body in ratings(10):
            ledger.note(source.post(body), [body], batch=False)
        batch = ratings(20)
        ledger.note(source.post({"evaluations": batch}), batch, batch=True)
        wait_until(lambda: settled(session_factory, due_now()), 60, "worker catching up before the outage")
        log(f"before the outage: {len(ledger.accepted)} ratings accepted, pushed and their timers fired")

        # Meanwhile a second source sends batches without pause, so the cut also breaks
        # requests in the middle of their transaction; it retries each until it is answered.
        batches = RatingSource(web.port, district.token)
        background = threading.Thread(target=send_batches, name="batches", daemon=True,
                                      args=(batches, ledger, district.department_code, stop))
        background.start()
        proxy.cut()
        cut_at = time.monotonic()
        refused: list[list[dict[str, Any]]] = []
        while time.monotonic() - cut_at < outage:
            bodies = ratings(1 if len(refused) % 2 == 0 else 5)
            answer = source.post_once(bodies[0] if len(bodies) == 1 else {"evaluations": bodies})
            problem = outage_answer_problem(answer)
            if problem:
                report.problems.append(problem)
            else:
                report.refused += 1
            refused.append(bodies)
            time.sleep(0.25)  # a source's next attempt; the outage lasts its planned time
        report.worker_alive = worker.alive()
        report.outage_seconds = time.monotonic() - cut_at
        proxy.restore()
        back_at = time.monotonic()
        log(f"outage over after {report.outage_seconds:.1f} s: {report.refused} requests answered 503")

        first = ratings(1)[0]
        while True:
            answer = source.post_once(first)
            if answer.status == 201:
                break
            report.failed_after_return += 1
            if time.monotonic() - back_at > 30:
                report.problems.append(f"the API did not recover within 30 s: HTTP {answer.status}")
                break
            time.sleep(0.25)
        report.recovery_seconds = time.monotonic() - back_at
        ledger.note(answer, [first], batch=False)
        for bodies in refused:  # sent again: accepted as new, so none was stored during the outage
            answer = source.post(bodies[0] if len(bodies) == 1 else {"evaluations": bodies})
            ledger.note(answer, bodies, batch=len(bodies) > 1)
            statuses = ([answer.body.get("status")] if len(bodies) == 1
                        else [r.get("status") for r in answer.body.get("results", [])])
            if statuses != ["created"] * len(bodies):
                report.problems.append(f"a rating refused during the outage was not new afterwards: {statuses}")
        for body in ratings(10):
            ledger.note(source.post(body), [body], batch=False)
        stop.set()
        background.join(120)
        report.batch_retries = sum(batches.retried_statuses.values()) + batches.lost_connections
        wait_until(lambda: settled(session_factory, due_now()), 60, "worker catching up after the outage")
        report.worker_alive = report.worker_alive and worker.alive()
        if not report.worker_alive:
            report.problems.append("the worker did not survive the outage")
        due_by = due_now()
    finally:
        stop.set()
        worker.stop()
        web.stop()
        proxy.cut()
    report.web_log_tracebacks = logs.text("gunicorn").count("Traceback")
    if report.web_log_tracebacks:
        report.problems.append(f"{report.web_log_tracebacks} tracebacks in the web log")
    worker_log = logs.text("hcp-worker")
    report.worker_log_lines = len(worker_log.splitlines())
    if "Traceback" in worker_log:
        report.problems.append(f"tracebacks in the worker's log: {worker_log[:2000]}")
    for job in ("timer sweep", "province push"):
        if worker_log.count(f"{job}: database unavailable") != 1 or worker_log.count(f"{job}: database reachable again") != 1:
            report.problems.append(f"the worker's log does not tell the outage of the {job} once at its start and "
                                   f"once at its end: {worker_log[:2000]}")
    try:
        with session_factory() as session:
            report.findings = check(session, district, ledger, stub.records(), due_by)
    finally:
        stub.stop()
        engine.dispose()
    report.problems.extend(report.findings.problems)
    for line in report.lines():
        log(line)
    for problem in report.problems:
        log(f"PROBLEM: {problem}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="PostgreSQL URL; a new database is made next to it")
    parser.add_argument("--outage", type=float, default=30.0, help="seconds the database stays away")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(Path(folder), args.postgres) as url:
        report = run(url, Path(folder), outage=args.outage)
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
