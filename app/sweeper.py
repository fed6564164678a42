"""Running the timer sweep: once, or every few seconds under APScheduler (in ``hcp worker``,
or in the web process when ``HCP_SWEEP_IN_WEB`` is set). Never started at import."""

from __future__ import annotations

import logging
import os
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from workflows.sweep import SweepResult, sweep

from .database import database_outage_logged
from .extensions import db
from .services import calendar_years
from .services.engine_runtime import make_engine

log = logging.getLogger(__name__)


def sweep_once(app: Flask) -> SweepResult:
    with app.app_context():
        with db.sessionmaker() as session:
            calendar_years.sync_calendar(session)
        return sweep(db.sessionmaker, make_engine)


def schedule(app: Flask, scheduler: BaseScheduler, interval: int) -> None:
    def job() -> None:
        result = None
        with database_outage_logged("timer sweep", log):
            result = sweep_once(app)
        if result is None:
            return
        if result.fired or result.errors:
            log.info("timer sweep: %s fired in %s instances, %s errors", result.fired, result.instances,
                     len(result.errors))

    # One sweep at a time per process; other processes sweep in parallel safely.
    scheduler.add_job(job, "interval", seconds=interval, id="timer-sweep", max_instances=1,
                      coalesce=True, replace_existing=True)


def sweep_in_web(app: Flask) -> None:
    """When ``HCP_SWEEP_IN_WEB`` is set, each web process starts a background sweeper on
    its first request: never at import, and after gunicorn has forked its workers (a
    scheduler thread started before a fork would not survive it)."""
    if not app.config["SWEEP_IN_WEB"]:
        return
    started: dict[int, BackgroundScheduler] = app.extensions.setdefault("sweepers", {})
    lock = threading.Lock()

    @app.before_request
    def _start_sweeper() -> None:
        if os.getpid() in started:
            return
        with lock:
            if os.getpid() not in started:
                scheduler = BackgroundScheduler(timezone="UTC")
                schedule(app, scheduler, app.config["SWEEP_INTERVAL"])
                scheduler.start()
                started[os.getpid()] = scheduler
