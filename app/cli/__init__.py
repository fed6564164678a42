"""``hcp``: the command line, a Flask CLI group over ``create_app``.

Each domain adds its own command group in ``register_cli``. Bad settings or an
unreachable database end a command with one clear line and exit status 2.
"""

from __future__ import annotations

import os
import re
from datetime import datetime
from typing import Any

import click
from alembic.util import CommandError
from flask import Flask
from flask.cli import FlaskGroup, ScriptInfo
from sqlalchemy import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError

from ..config import ConfigError


class CommandFailed(click.ClickException):
    """Ends a command with ``Error: message`` on stderr and exit status 2."""

    exit_code = 2


def _database_hint() -> str:
    value = os.environ.get("HCP_DATABASE_URL")
    if not value:
        return "HCP_DATABASE_URL (not set: the SQLite file under instance/)"
    try:
        return f"HCP_DATABASE_URL={make_url(value).render_as_string(hide_password=True)}"
    except ArgumentError:
        return "HCP_DATABASE_URL"


SCHEMA_BEHIND = re.compile(r"no such (table|column)|has no column named|(relation|column) .* does not exist")


def database_unreachable(error: OperationalError | ProgrammingError) -> CommandFailed:
    reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
    if SCHEMA_BEHIND.search(reason):
        return CommandFailed(f"the database schema is older than this version ({reason}): "
                             "run `hcp db upgrade`")
    return CommandFailed(f"cannot use the database given by {_database_hint()}: {reason}")


def aware_moment(_ctx: click.Context, _param: click.Parameter, value: str | None) -> datetime | None:
    """A click callback: an ISO 8601 time that must carry its UTC offset."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time, e.g. 2026-09-30T10:00:00+08:00") from None
    if moment.utcoffset() is None:
        raise click.BadParameter(f"{value!r} has no UTC offset; write e.g. {value}+08:00")
    return moment


def cli_actor() -> str:
    """Who runs a command, for the audit log: the operating system's login name."""
    import getpass

    return f"cli:{getpass.getuser()}"[:64]


class HcpGroup(FlaskGroup):
    def _load(self, ctx: click.Context) -> Flask:
        try:
            return ctx.ensure_object(ScriptInfo).load_app()
        except ConfigError as error:
            raise CommandFailed(f"configuration: {error}") from None

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        builtin = click.Group.get_command(self, ctx, name)
        if builtin is None and name not in ("--help", "-h"):
            self._load(ctx)
        return super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load(ctx)
        return super().list_commands(ctx)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise CommandFailed(f"configuration: {error}") from None
        except (OperationalError, ProgrammingError) as error:
            raise database_unreachable(error) from None
        except CommandError as error:  # Alembic: unknown revision, and the like
            raise CommandFailed(f"migrations: {error}") from None


def _create_app() -> Flask:
    from .. import create_app

    return create_app()


cli = HcpGroup(
    create_app=_create_app,
    help="政务服务“好差评”差评办理系统 — the hcp command line.\n\n"
    "Settings come from HCP_* environment variables (HCP_DATABASE_URL, HCP_ENV, HCP_SECRET_KEY, "
    "HCP_DATA_KEYS).",
)


def register_cli(app: Flask) -> None:
    from .apikeys import apikey_group
    from .bpmn_validate import register as register_bpmn_validate
    from .audit import register as register_audit
    from .bulletin import register as register_bulletin
    from .calendar import calendar_group
    from .db import db_group
    from .engine import bpmn_group, engine_group, sweep_command, worker_command
    from .notify import register as register_notify
    from .push import register as register_push
    from .ratings import register as register_ratings
    from .simulate import register as register_simulate
    from .users import users_group
    from .demo import seed_demo
    from .keys import keys_group

    app.cli.add_command(apikey_group)
    app.cli.add_command(calendar_group)
    app.cli.add_command(db_group)
    app.cli.add_command(seed_demo)
    app.cli.add_command(keys_group)
    app.cli.add_command(users_group)
    for command in (bpmn_group, engine_group, sweep_command, worker_command):
        app.cli.add_command(command)
    register_audit(app)
    register_bpmn_validate(app)
    register_notify(app)
    register_push(app)
    register_ratings(app)
    register_simulate(app)
    register_bulletin(app)


def main() -> None:
    cli.main(prog_name="hcp")
