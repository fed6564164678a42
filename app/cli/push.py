"""``hcp push --once`` and ``hcp province-stub``: the push to the provincial 好差评 system (R11)."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path
from types import FrameType

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..province_stub import LOOPBACK, RECORDS_PATH, ProvinceStub, make_stub_server
from ..services.push import URL_VARIABLE, PushConfigError, province_url, push_once
from . import CommandFailed


@click.command("push", help=f"Push the pending outbox records to the provincial 好差评 system at "
               f"{URL_VARIABLE} (one run). Exit status 1 when records could not be delivered.")
@click.option("--once", is_flag=True, required=True, help="Run one push and exit (for cron or demos).")
@click.option("--url", default=None, help=f"The receiving URL (default: the environment variable {URL_VARIABLE}).")
@click.option("--batch-size", type=click.IntRange(1, 1000), default=200, show_default=True,
              help="Records per request.")
@click.option("--timeout", type=click.FloatRange(0.5, 300), default=10.0, show_default=True,
              help="Seconds to wait for the receiver.")
@with_appcontext
def push_command(once: bool, url: str | None, batch_size: int, timeout: float) -> None:
    try:
        target = province_url(url if url is not None else current_app.config["PROVINCE_URL"])
    except PushConfigError as error:
        raise CommandFailed(str(error)) from None
    result = push_once(db.sessionmaker, target, batch_size=batch_size, timeout=timeout)
    click.echo(f"delivered {result.delivered} records, {result.failed} failed"
               + (f", {result.skipped} waiting" if result.skipped else ""))
    for error in result.errors:
        click.echo(f"error: {error}", err=True)
    if result.failed:
        raise SystemExit(1)


@click.command("province-stub", help="Run a stand-in for the provincial receiver on 127.0.0.1 "
               f"(POST/GET {RECORDS_PATH}), for demos and tests; stores each record once.")
@click.option("--port", type=click.IntRange(1, 65535), default=5099, show_default=True)
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Its SQLite file (default: province-stub.sqlite in the instance folder).")
@with_appcontext
def province_stub_command(port: int, db_path: Path | None) -> None:
    path = db_path or Path(current_app.instance_path) / "province-stub.sqlite"
    try:
        stub = ProvinceStub(path)
    except (OSError, sqlite3.Error) as error:
        raise CommandFailed(f"cannot use {path} for the province stub: {error}") from None
    try:
        server = make_stub_server(stub, port)
    except OSError as error:
        raise CommandFailed(f"cannot listen on {LOOPBACK}:{port}: {error.strerror or error}") from None

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    click.echo(f"province stub: http://{LOOPBACK}:{server.port}{RECORDS_PATH}, storing in {path} "
               "(Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(app: Flask) -> None:
    app.cli.add_command(push_command)
    app.cli.add_command(province_stub_command)
