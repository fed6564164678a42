"""Running the timer sweep: once, or every few seconds under APScheduler (in ``hcp worker``,
or in the web process when ``HCP_SWEEP_IN_WEB`` is set). Never started at import."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from flask import Flask

from workflows.sweep import SweepResult, sweep

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
        result = sweep_once(app)
        if result.fired or result.errors:
            log.info("timer sweep: %s fired in %s instances, %s errors", result.fired, result.instances,
                     len(result.errors))

    # One sweep at a time per process; other processes sweep in parallel safely.
    scheduler.add_job(job, "interval", seconds=interval, id="timer-sweep", max_instances=1,
                      coalesce=True, replace_existing=True)


def start_in_web(app: Flask) -> BackgroundScheduler | None:
    """Start a background sweeper in a web process when configured (wsgi.py calls this)."""
    if not app.config["SWEEP_IN_WEB"]:
        return None
    scheduler = BackgroundScheduler(timezone="UTC")
    schedule(app, scheduler, app.config["SWEEP_INTERVAL"])
    scheduler.start()
    return scheduler
