"""``hcp simulate``: fill the demo district with a realistic stream of ratings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import click
from calendars import SHANGHAI
from flask import Flask, current_app
from flask.cli import with_appcontext

from ..extensions import db
from ..services.simulator import (EARLIEST_DAY, MAX_PER_DAY, MAX_SEED, Simulation, SimulationError,
                                  refuse_production)
from . import CommandFailed


def simulated_days(days: int, end: date | None, today: date) -> tuple[date, date]:
    """``days`` days ending ``end`` (default: yesterday), never today or later, never before 2018."""
    last = end or today - timedelta(days=1)
    if last >= today:
        raise SimulationError(f"--end must be before today ({today.isoformat()}): ratings are not made in the future")
    first = last - timedelta(days=days - 1)
    if first < EARLIEST_DAY:
        raise SimulationError(f"the simulated days must start on {EARLIEST_DAY.isoformat()} or later "
                              f"(they would start on {first.isoformat()})")
    return first, last


@click.command("simulate", help="Feed a realistic stream of ratings for the last days of the demo district "
               "through the intake service (bad ratings open cases). Deterministic for a seed: running again "
               "with the same seed and days adds nothing. Refused with HCP_ENV=production.")
@click.option("--days", type=click.IntRange(1, 366), default=30, show_default=True, help="How many days.")
@click.option("--per-day", type=click.IntRange(1, MAX_PER_DAY), default=2000, show_default=True,
              help="Ratings per working day (days off get a few online ones).")
@click.option("--seed", type=click.IntRange(0, MAX_SEED), default=1, show_default=True,
              help="Seed of the random stream.")
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Last simulated day, YYYY-MM-DD (default: yesterday, Beijing time).")
@with_appcontext
def simulate_command(days: int, per_day: int, seed: int, end: datetime | None) -> None:
    env = current_app.config["ENV"]
    try:
        refuse_production(env)  # before anything else
        start, last = simulated_days(days, end.date() if end else None, datetime.now(SHANGHAI).date())
        simulation = Simulation.prepare(db.session, env=env, start=start, end=last, per_day=per_day, seed=seed)
    except SimulationError as error:
        raise CommandFailed(str(error)) from None
    total = simulation.total()
    with click.progressbar(length=total, label=f"{start.isoformat()} – {last.isoformat()}, {total} ratings",
                           show_pos=True) as bar:
        result = simulation.run(progress=bar.update)
    click.echo(f"ratings stored: {result.stored}, duplicates: {result.duplicates}, invalid: {result.invalid}"
               + (f", conflicts: {result.conflicts}" if result.conflicts else "")
               + f", cases opened: {result.cases_opened}")
    for problem in result.problems:
        click.echo(f"refused: {problem}", err=True)
    if result.invalid or result.conflicts:
        raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(simulate_command)
