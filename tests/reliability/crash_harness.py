"""Crash safety (issue 10, item 1): the API under gunicorn and two ``hcp worker`` processes on
PostgreSQL, killed with SIGKILL at random moments while ratings arrive (single and in
batches, bad ones opening cases), timers come due and the outbox is pushed to the
provincial stub; then everything in ``checks`` must hold.

    python -m tests.reliability.crash_harness --postgres postgresql+psycopg://postgres@127.0.0.1:5432/test
    python -m tests.reliability.crash_harness --postgres URL --kills 100 --seed 7

Kill targets, in a seeded random order and at seeded random intervals: one ``hcp worker``
(restarted at once), one gunicorn worker (its master starts another), or gunicorn as a
whole — master and workers in one SIGKILL (restarted). The workers' engine clock is moved
(``hcp worker --at``) so that the triage warnings of new cases are due at once and their
triage deadlines all come due together ~20 s into the kills.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

import calendars
from app.models import OutboxRecord
from app.models.outbox import PENDING
from app.services.push import SUPERVISION_KINDS
from workflows.tables import WAITING, Timer

from ..db_support import fresh_database
from .checks import Findings, Ledger, check
from .system import (Gunicorn, Logs, RatingSource, Stub, Worker, pid_owning_port, prepare, rating_body,
                     wait_until)

SWEEPERS, WEB_WORKER, WEB_ALL = "hcp-worker", "gunicorn-worker", "gunicorn-all"
SWEEPER_IN_PUSH = "hcp-worker-in-push"  # an hcp worker killed while the stub receives its batch
DEADLINE_LEAD = timedelta(seconds=20)  # the triage deadlines come due this long after the start
MARGIN = timedelta(seconds=10)  # a restarted worker's clock may lag the plan by its start-up time


@dataclass
class CrashReport:
    seed: int
    kills: list[tuple[float, str, int]] = field(default_factory=list)  # (second, target, pid)
    requests: int = 0
    lost_connections: int = 0
    seconds: float = 0.0
    stub_failures: tuple[int, int] = (0, 0)  # batches the stub failed on purpose: (lost requests, lost answers)
    findings: Findings = field(default_factory=Findings)

    @property
    def problems(self) -> list[str]:
        return self.findings.problems

    def lines(self) -> list[str]:
        by_target = {t: sum(1 for k in self.kills if k[1] == t) for t in (SWEEPERS, SWEEPER_IN_PUSH, WEB_WORKER,
                                                                          WEB_ALL)}
        return [f"seed {self.seed}: {len(self.kills)} SIGKILLs {by_target} in {self.seconds:.0f} s",
                f"requests answered: {self.requests}; connections lost and retried by the client: "
                f"{self.lost_connections}",
                f"batches the stub failed on purpose: {self.stub_failures[0]} requests lost (not stored), "
                f"{self.stub_failures[1]} answers lost (stored)", *self.findings.lines(),
                "problems: " + ("none" if not self.problems else f"{len(self.problems)}")]


def aimed_at_push(stub: Stub, sweepers: list[Worker], seconds: float = 5.0) -> Worker | None:
    """The worker whose batch the stub is receiving right now (waiting for one up to
    ``seconds``), or None."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        by_pid = {w.process.pid: w for w in sweepers if w.alive()}
        for port in stub.senders():
            pid = pid_owning_port(port, list(by_pid))
            if pid is not None:
                return by_pid[pid]
        time.sleep(0.01)
    return None


def kill_plan(kills: int, rng: random.Random) -> list[str]:
    """Every kind of kill, in fixed shares, in a seeded order."""
    sweepers = round(kills * 0.4)
    web_workers = round(kills * 0.35)
    plan = [SWEEPERS] * sweepers + [WEB_WORKER] * web_workers + [WEB_ALL] * (kills - sweepers - web_workers)
    rng.shuffle(plan)
    return plan


def send_ratings(source: RatingSource, ledger: Ledger, district_code: str, number: int, stop: threading.Event,
                 seed: int, bad_share: float) -> None:
    rng = random.Random(seed)
    for n in itertools.count():
        if stop.is_set():
            return
        if rng.random() < 0.5:
            body = rating_body(f"c{number}-{n}", rng, district_code, bad_share)
            ledger.note(source.post(body), [body], batch=False)
        else:
            size = rng.randint(2, 25)
            bodies = [rating_body(f"c{number}-{n}-{i}", rng, district_code, bad_share,
                                  valid=rng.random() > 0.03) for i in range(size)]
            ledger.note(source.post({"evaluations": bodies}), bodies, batch=True)


def settled(session_factory: sessionmaker[Session], due_by: datetime) -> bool:
    with session_factory() as session:
        # Records for the supervision office wait while HCP_SUPERVISION_URL is unset (as here).
        pending = session.scalar(sa.select(sa.func.count()).select_from(OutboxRecord)
                                 .where(OutboxRecord.status == PENDING, OutboxRecord.kind.not_in(SUPERVISION_KINDS)))
        waiting = session.scalar(sa.select(sa.func.count()).select_from(Timer)
                                 .where(Timer.status == WAITING, Timer.due_at <= due_by))
    return pending == 0 and waiting == 0


def run(database_url: str, folder: Path, *, kills: int = 24, seed: int | None = None, clients: int = 3,
        bad_share: float = 0.2, pause: tuple[float, float] = (0.6, 1.8), log=print) -> CrashReport:
    seed = random.randrange(1_000_000) if seed is None else seed
    rng = random.Random(seed)
    report = CrashReport(seed)
    log(f"crash harness: seed {seed}, {kills} kills, logs in {folder}")
    district = prepare(database_url, folder)
    logs = Logs(folder)
    stub = Stub(folder, hold=0.2, flaky=0.1, seed=seed)
    env = district.settings(HCP_PROVINCE_URL=stub.url)
    now = datetime.now(timezone.utc)
    deadline, _provisional = calendars.provisional_deadline(now, 3)  # the triage deadline of a case opened now
    clock_ahead = deadline - (now + DEADLINE_LEAD)
    web = Gunicorn(env, logs)
    sweepers = [Worker(env, logs, f"hcp-worker-{n}", interval=1, clock_ahead=clock_ahead) for n in (1, 2)]
    engine = sa.create_engine(database_url, pool_pre_ping=True)
    session_factory = sessionmaker(engine)
    ledger = Ledger()
    stop = threading.Event()
    source = RatingSource(web.port, district.token)
    started = time.monotonic()
    try:
        web.start()
        for worker in sweepers:
            worker.start()
        threads = [threading.Thread(target=send_ratings, name=f"client-{n}", daemon=True,
                                    args=(source, ledger, district.department_code, n, stop, seed * 100 + n,
                                          bad_share)) for n in range(clients)]
        for thread in threads:
            thread.start()
        sweeper_kills = 0
        for target in kill_plan(kills, rng):
            time.sleep(rng.uniform(*pause))  # a random moment: the chaos itself, not a wait for a result
            if target == SWEEPERS:
                worker = rng.choice(sweepers)
                sweeper_kills += 1
                if sweeper_kills % 2:  # every other one is aimed at a push in progress
                    aimed = aimed_at_push(stub, sweepers)
                    if aimed is not None:
                        worker, target = aimed, SWEEPER_IN_PUSH
                pid = worker.kill()
                worker.start()
            elif target == WEB_WORKER:
                pid = web.kill_one_worker(rng)
            else:
                pid = web.kill_all()
                web.start()
            second = time.monotonic() - started
            report.kills.append((second, target, pid))
            log(f"  {second:6.1f} s  SIGKILL {target} (pid {pid})")
        stop.set()
        for thread in threads:
            thread.join(180)
            if thread.is_alive():
                raise TimeoutError(f"{thread.name} still waits for an answer")
        log("kills done; the system settles: every due timer fired, every outbox record delivered")
        wait_until(lambda: settled(session_factory, datetime.now(timezone.utc) + clock_ahead - MARGIN), 120,
                   "settling after the kills", step=0.5)
        due_by = datetime.now(timezone.utc) + clock_ahead - MARGIN
    finally:
        stop.set()
        for worker in sweepers:
            worker.stop()
        web.stop()
    report.seconds = time.monotonic() - started
    report.requests = sum(ledger.statuses.values())
    report.lost_connections = source.lost_connections
    report.stub_failures = (stub.lost_requests, stub.lost_answers)
    try:
        with session_factory() as session:
            report.findings = check(session, district, ledger, stub.records(), due_by)
    finally:
        stub.stop()
        engine.dispose()
    if report.findings.timers_fired["deadline"] == 0 or report.findings.timers_fired["warning"] == 0:
        report.problems.append(f"the run proves little: timers fired {dict(report.findings.timers_fired)}")
    if not report.findings.stub_records:
        report.problems.append("the run proves little: nothing was pushed")
    for line in report.lines():
        log(line)
    for problem in report.problems:
        log(f"PROBLEM: {problem}")
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", required=True, help="PostgreSQL URL; a new database is made next to it")
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--clients", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, fresh_database(Path(folder), args.postgres) as url:
        report = run(url, Path(folder), kills=args.kills, seed=args.seed, clients=args.clients)
    sys.exit(1 if report.problems else 0)


if __name__ == "__main__":
    main()
