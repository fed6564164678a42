"""hcp bpmn deploy-shipped, hcp sweep --once, hcp engine retry, hcp worker."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.tables import Deployment

from .test_cli import hcp


def test_deploy_shipped_is_idempotent(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["bpmn", "deploy-shipped", "--note", "first"])
    assert first.exit_code == 0, first.output
    assert first.output.startswith("deployed version 1 (") and "3 BPMN files, 11 forms" in first.output
    again = runner.invoke(args=["bpmn", "deploy-shipped"])
    assert again.output.startswith("deployed version 1 (")
    assert len(session.scalars(select(Deployment)).all()) == 1


def test_sweep_once_reports(app: Flask, session: Session) -> None:
    result = app.test_cli_runner().invoke(args=["sweep", "--once"])
    assert result.exit_code == 0 and result.output.strip() == "fired 0 timers in 0 cases"


def test_retry_of_an_unknown_instance_is_one_clear_line(app: Flask, session: Session) -> None:
    result = app.test_cli_runner().invoke(args=["engine", "retry", "999999"])
    assert result.exit_code == 2 and "process instance 999999 does not exist" in result.output


def test_worker_sweeps_until_terminated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'worker.sqlite'}"
    assert hcp(tmp_path, "db", "upgrade", DATABASE_URL=url).returncode == 0
    env = {k: v for k, v in os.environ.items() if not k.startswith("HCP_")}
    env.update(HCP_INSTANCE_PATH=str(tmp_path), HCP_DATABASE_URL=url)
    exe = shutil.which("hcp", path=str(Path(sys.executable).parent)) or "hcp"
    worker = subprocess.Popen([exe, "worker", "--interval", "1"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert worker.stdout.readline().startswith("worker: sweeping every 1 s")
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()


def test_web_processes_start_their_sweeper_on_the_first_request(tmp_path: Path) -> None:
    from .conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'web.sqlite'}", tmp_path, SWEEP_IN_WEB=True, SWEEP_INTERVAL=3600)
    assert app.extensions["sweepers"] == {}, "create_app registers the sweeper; nothing starts before a request"
    assert app.test_client().get("/healthz").status_code == 200
    [scheduler] = app.extensions["sweepers"].values()
    try:
        assert scheduler.running and scheduler.get_job("timer-sweep") is not None
        app.test_client().get("/healthz")
        assert len(app.extensions["sweepers"]) == 1, "one sweeper per process"
    finally:
        scheduler.shutdown(wait=False)
    off = make_app(f"sqlite:///{tmp_path / 'web2.sqlite'}", tmp_path / "2")
    off.test_client().get("/healthz")
    assert "sweepers" not in off.extensions


def test_sweep_at_a_moment_for_demos(app: Flask, session: Session) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["sweep", "--once", "--at", "2026-10-11T09:00:00+08:00"])
    assert result.exit_code == 0 and result.output.startswith("fired 0 timers")
    naive = runner.invoke(args=["sweep", "--once", "--at", "2026-10-11T09:00:00"])
    assert naive.exit_code == 2 and "has no UTC offset" in naive.output


def test_sweep_at_is_refused_in_production(tmp_path: Path) -> None:
    from .conftest import TEST_DATA_KEY
    from .test_cli import single_error_line

    line = single_error_line(hcp(tmp_path, "sweep", "--once", "--at", "2026-10-11T09:00:00+08:00",
                                 ENV="production", SECRET_KEY="p" * 40, DATA_KEYS=TEST_DATA_KEY,
                                 DATABASE_URL=f"sqlite:///{tmp_path / 'p.sqlite'}"))
    assert line == "Error: --at moves the engine clock: refused with HCP_ENV=production"
