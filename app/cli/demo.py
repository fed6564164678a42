"""``hcp seed-demo``."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..services.demo_data import DEMO_PASSWORD
from ..services.demo_seed import seed_demo as run_seed
from . import CommandFailed


@click.command("seed-demo", help="Create the demo district (departments, items, users, service records). "
               "Idempotent: running it again adds only what is missing.")
@with_appcontext
def seed_demo() -> None:
    if current_app.config["ENV"] == "production":
        raise CommandFailed("seed-demo refuses to run with HCP_ENV=production: it creates users with "
                            "known passwords")
    report = run_seed(db.session)
    db.session.commit()
    if not report.created:
        click.echo("demo data already complete: nothing added")
        return
    click.echo("added: " + ", ".join(f"{n} {kind}" for kind, n in report.created.items()))
    if report.new_users:
        click.echo(f"\ndemo users (password for all: {DEMO_PASSWORD}) — shown only now:")
        for user in report.new_users:
            roles = "、".join(sorted(r.label for r in user.roles))
            department = user.department.short_name if user.department else "—"
            click.echo(f"  {user.username:<22} {roles:<10} {department}")
