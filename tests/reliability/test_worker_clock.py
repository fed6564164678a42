"""The pieces the reliability harness relies on: ``hcp worker --at`` (a worker on a moved
engine clock, refused in production), ``ShiftedClock``, and the one-line logging of a
database outage by the scheduled jobs."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from app.database import database_outage_logged
from workflows.clock import ShiftedClock

from ..app.conftest import TEST_DATA_KEY
from ..app.test_cli import hcp, single_error_line


def test_a_shifted_clock_starts_at_its_moment_and_runs_at_real_speed() -> None:
    start = datetime(2026, 12, 2, 23, 59, 50, tzinfo=timezone(timedelta(hours=8)))
    clock = ShiftedClock(start)
    first = clock.now()
    second = clock.now()
    assert first.tzinfo == timezone.utc
    assert timedelta(0) <= first - start < timedelta(seconds=5)
    assert second >= first
    with pytest.raises(ValueError, match="needs a timezone"):
        ShiftedClock(datetime(2026, 12, 2, 12, 0))


def test_worker_at_is_refused_in_production(tmp_path: Path) -> None:
    line = single_error_line(hcp(tmp_path, "worker", "--at", "2026-12-02T23:59:50+08:00", ENV="production",
                                 SECRET_KEY="p" * 40, DATA_KEYS=TEST_DATA_KEY,
                                 DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite'}"))
    assert line == "Error: --at moves the engine clock: refused with HCP_ENV=production"


def test_worker_at_needs_an_offset(tmp_path: Path) -> None:
    result = hcp(tmp_path, "worker", "--at", "2026-12-02T23:59:50", DATABASE_URL=f"sqlite:///{tmp_path / 'n.sqlite'}")
    assert result.returncode == 2 and "has no UTC offset" in result.stderr


def test_worker_at_runs_on_the_moved_clock_until_terminated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.sqlite'}"
    assert hcp(tmp_path, "db", "upgrade", DATABASE_URL=url).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCP_")}
    env.update(HCP_INSTANCE_PATH=str(tmp_path), HCP_DATABASE_URL=url)
    exe = shutil.which("hcp", path=str(Path(sys.executable).parent)) or "hcp"
    worker = subprocess.Popen([exe, "worker", "--interval", "1", "--at", "2026-12-02T23:59:50+08:00"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = worker.stdout.readline()
        assert line.startswith("worker: sweeping every 1 s") and "engine clock at 2026-12-02T23:59:50+08:00" in line
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()


def unreachable() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused\nsecond line"))


def test_an_outage_is_logged_once_when_it_begins_and_once_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("tests.outage")
    caplog.set_level(logging.WARNING, logger="tests.outage")
    for _ in range(3):  # three runs of the job while the database is away
        with database_outage_logged("test job", logger):
            raise unreachable()
    with database_outage_logged("test job", logger):
        pass  # the database is back
    with database_outage_logged("test job", logger):
        pass
    assert [r.getMessage() for r in caplog.records] == [
        "test job: database unavailable (connection refused); trying again at every run",
        "test job: database reachable again"]


def test_other_database_errors_are_not_taken_for_an_outage() -> None:
    with pytest.raises(IntegrityError):
        with database_outage_logged("test job", logging.getLogger("tests.outage")):
            raise IntegrityError("INSERT", {}, Exception("duplicate key"))


def test_every_scheduled_job_of_the_worker_rides_out_an_outage(tmp_path: Path,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """The bulletin check, the supervision push and the notification delivery, run while
    nothing answers at the database's address: no exception escapes, one warning each."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from app import create_app
    from app.services.bulletins import schedule_bulletins, schedule_supervision_push
    from app.services.notify_delivery import schedule_delivery

    with socket_nobody_listens_on() as port:
        app = create_app({"ENV": "testing", "SECRET_KEY": "t" * 40, "DATA_KEYS": TEST_DATA_KEY,
                          "INSTANCE_PATH": str(tmp_path), "NOTIFY_WEBHOOK_URL": "http://127.0.0.1:9/hook",
                          "DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{port}/gone?connect_timeout=2"})
        scheduler = BackgroundScheduler()
        schedule_bulletins(app, scheduler)
        assert schedule_supervision_push(app, scheduler, 5, "http://127.0.0.1:9/supervision")
        assert schedule_delivery(app, scheduler, 5)
        caplog.set_level(logging.WARNING)
        jobs = {"monthly-bulletin": "monthly bulletin", "supervision-push": "supervision push",
                "notification-delivery": "notification delivery"}
        for job_id in jobs:
            for _ in range(2):
                scheduler.get_job(job_id).func()
    warnings = [r.getMessage() for r in caplog.records if "database unavailable" in r.getMessage()]
    assert sorted(w.split(":")[0] for w in warnings) == sorted(jobs.values())


@contextmanager
def socket_nobody_listens_on() -> Iterator[int]:
    """A loopback port that refuses connections (bound, never listening) for the block."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield held.getsockname()[1]
