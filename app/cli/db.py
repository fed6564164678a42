"""``hcp db``: the schema, only through Alembic migrations."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from .. import migrate
from ..extensions import db
from . import CommandFailed


@click.group("db", help="Database schema: migrations (Alembic).")
def db_group() -> None:
    pass


@db_group.command("upgrade", help="Apply migrations up to REVISION (default: head).")
@click.argument("revision", default="head")
@with_appcontext
def upgrade(revision: str) -> None:
    before = migrate.current_revision(db.engine)
    migrate.upgrade(db.engine, revision)
    after = migrate.current_revision(db.engine)
    click.echo(f"database at {after} (was {before or 'empty'})")


@db_group.command("downgrade", help="Revert migrations down to REVISION (e.g. -1 or base).")
@click.argument("revision")
@with_appcontext
def downgrade(revision: str) -> None:
    migrate.downgrade(db.engine, revision)
    click.echo(f"database at {migrate.current_revision(db.engine) or 'base (empty)'}")


@db_group.command("current", help="Show the database's revision and the newest one.")
@with_appcontext
def current() -> None:
    have, head = migrate.current_revision(db.engine), migrate.head_revision()
    click.echo(f"database: {have or 'empty'}\nnewest:   {head}")
    if have != head:
        raise CommandFailed("the database is not up to date: run `hcp db upgrade`")


@db_group.command("revision", help="Write a new migration file (developers).")
@click.option("-m", "--message", required=True, help="What the migration changes.")
@click.option("--autogenerate/--empty", default=True, help="Compare the models with the database.")
@with_appcontext
def revision(message: str, autogenerate: bool) -> None:
    migrate.revision(db.engine, message, autogenerate)
