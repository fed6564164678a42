"""``hcp sweep``, ``hcp worker``, ``hcp bpmn``, ``hcp engine``: running the case engine."""

from __future__ import annotations

import getpass
import signal
import threading
from datetime import datetime

import click
from apscheduler.schedulers.background import BackgroundScheduler
from flask import current_app
from flask.cli import with_appcontext

from workflows.clock import ManualClock, ShiftedClock, set_clock, using_clock
from workflows.engine import EngineError
from workflows.specs import BpmnFileError

from ..extensions import db
from ..services.bulletins import schedule_bulletins, schedule_supervision_push
from ..services.engine_runtime import deploy_shipped, make_engine
from ..services.notify_delivery import schedule_delivery
from ..services.process_deploy import reviewed_version_replaced_by_shipped
from ..services.push import schedule_push
from ..sweeper import schedule, sweep_once
from . import CommandFailed, aware_moment


@click.command("sweep", help="Fire the timers that are due (one sweep).")
@click.option("--once", is_flag=True, required=True, help="Run one sweep and exit (for cron or demos).")
@click.option("--at", "at", callback=aware_moment, default=None,
              help="Demo only: sweep as if it were this time (ISO 8601 with offset); refused in production.")
@with_appcontext
def sweep_command(once: bool, at: datetime | None) -> None:
    app = current_app._get_current_object()
    if at is not None:
        if app.config["ENV"] == "production":
            raise CommandFailed("--at moves the engine clock: refused with HCP_ENV=production")
        with using_clock(ManualClock(at)):
            result = sweep_once(app)
    else:
        result = sweep_once(app)
    click.echo(f"fired {result.fired} timers in {result.instances} cases"
               + (f"; {result.skipped} cases busy elsewhere" if result.skipped else ""))
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    if result.errors:
        raise SystemExit(1)


@click.command("worker", help="Sweep timers every few seconds until stopped (SIGTERM or Ctrl-C).")
@click.option("--interval", type=click.IntRange(1, 3600), default=None,
              help="Seconds between sweeps (default HCP_SWEEP_INTERVAL, 5).")
@click.option("--at", "at", callback=aware_moment, default=None,
              help="Tests and demos only: the engine clock starts at this time (ISO 8601 with offset) and "
                   "runs on at real speed; refused in production.")
@with_appcontext
def worker_command(interval: int | None, at: datetime | None) -> None:
    app = current_app._get_current_object()
    seconds = interval or app.config["SWEEP_INTERVAL"]
    if at is not None:
        if app.config["ENV"] == "production":
            raise CommandFailed("--at moves the engine clock: refused with HCP_ENV=production")
        set_clock(ShiftedClock(at))
    scheduler = BackgroundScheduler(timezone="UTC")
    schedule(app, scheduler, seconds)
    pushing = schedule_push(app, scheduler, seconds, url=app.config["PROVINCE_URL"] or "")
    notifying = schedule_delivery(app, scheduler, seconds)
    schedule_bulletins(app, scheduler)  # the monthly bulletin, on the first working day of each month
    supervising = schedule_supervision_push(app, scheduler, seconds, url=app.config["SUPERVISION_URL"])

    # The signal only sets a flag: the main thread then stops the scheduler, letting a job
    # that is running finish its transaction. A signal at any moment (even while the
    # scheduler is starting) ends the worker.
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stopping.set())
    scheduler.start()
    click.echo(f"worker: sweeping every {seconds} s"
               + (", pushing to the provincial system" if pushing else " (HCP_PROVINCE_URL not set: no push)")
               + (", sending notifications" if notifying else "")
               + ", monthly bulletins" + (" pushed to the supervision office" if supervising else
                                          " (HCP_SUPERVISION_URL not set: not pushed)")
               + (f"; engine clock at {at.isoformat()} (--at)" if at is not None else "")
               + " (Ctrl-C to stop)")
    try:
        while not stopping.wait(timeout=1.0):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        scheduler.shutdown(wait=True)


@click.group("bpmn", help="Process files: validate them, deploy the shipped versions.")
def bpmn_group() -> None:
    pass


@bpmn_group.command("deploy-shipped", help="Deploy the files in bpmn/ as a new version (if they changed); "
                    "new cases use it, running cases stay on theirs.")
@click.option("--note", default="shipped process files", help="What changed.")
@click.option("--force", is_flag=True, help="Deploy even over a version a designer's reviewed draft made.")
@with_appcontext
def deploy_shipped_command(note: str, force: bool) -> None:
    replaced = reviewed_version_replaced_by_shipped(db.session)
    if replaced is not None and not force:
        raise CommandFailed(f"version {replaced.version} was deployed from a reviewed draft by {replaced.deployed_by}; "
                            "deploying bpmn/ would undo that change without review (add --force to do it anyway)")
    try:
        deployment = deploy_shipped(db.session, getpass.getuser(), note)
    except BpmnFileError as error:
        raise CommandFailed(str(error)) from None
    db.session.commit()
    click.echo(f"deployed version {deployment.version} ({deployment.sha256[:12]}), "
               f"{len(deployment.bpmn_files)} BPMN files, {len(deployment.form_files)} forms")


@click.group("engine", help="Process instances: retry after an error.")
def engine_group() -> None:
    pass


@engine_group.command("retry", help="Put an errored instance back to running (after fixing the cause).")
@click.argument("instance_id", type=click.IntRange(min=1))
@with_appcontext
def retry_command(instance_id: int) -> None:
    try:
        make_engine(db.session).retry(instance_id)
    except EngineError as error:
        raise CommandFailed(str(error)) from None
    db.session.commit()
    click.echo(f"instance {instance_id} is running again; due timers fire at the next sweep")
