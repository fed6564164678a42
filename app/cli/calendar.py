"""``hcp calendar``: the working-day calendar's years, deadlines and yearly updates."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from datetime import date, datetime, timezone
from pathlib import Path

import calendars
import click
from flask.cli import with_appcontext

from ..extensions import db
from ..services import calendar_years
from ..services.audit_log import log_action
from ..services.cases import recompute_open_deadlines
from . import CommandFailed, aware_moment, cli_actor

WEEKDAYS = "一二三四五六日"


def _day(d: date) -> str:
    return f"{d:%Y-%m-%d}（周{WEEKDAYS[d.weekday()]}）"


def _days(days: Iterable[date]) -> str:
    """Consecutive days as one range: 2026-02-15（周日）至 2026-02-23（周一）."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return "、".join(_day(r[0]) if len(r) == 1 else f"{_day(r[0])}至{_day(r[-1])}" for r in runs) or "—"


@click.group("calendar", help="Working-day calendar: holiday data per year, deadlines.")
def calendar_group() -> None:
    pass


@calendar_group.command("load", help="Validate a year's data file (TOML, as in calendars/data) and install "
                        "it; it overrides the shipped file of that year.")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", "loaded_by", default=None, help="Who loads it (default: the login name).")
@with_appcontext
def load(file: Path, loaded_by: str | None) -> None:
    try:
        result = calendar_years.load_year(db.session, file.read_bytes(), str(file),
                                          loaded_by or getpass.getuser(), datetime.now(timezone.utc))
    except calendars.CalendarDataError as error:
        raise CommandFailed(" ".join(str(error).split())) from None
    if result.stored is None:
        click.echo(f"{result.year}: unchanged, same as the {result.replaced.describe()}; nothing stored")
        return
    log_action(db.session, "calendar_loaded", actor=cli_actor(), target=f"{result.year}",
               detail={"file": file.name, "version": result.stored.id, "loaded_by": result.stored.loaded_by})
    db.session.commit()
    calendar_years.sync_calendar(db.session)
    looked_at = recompute_open_deadlines(db.session)
    db.session.commit()
    data = calendar_years.years_in_force(db.session)[result.year].data
    before = f"replacing the {result.replaced.describe()}" if result.replaced else "a year not covered before"
    click.echo(f"{result.year}: stored as database version {result.stored.id} from {file.name} "
               f"({len(data.holidays)} days off, {len(data.workdays)} make-up working days), {before}")
    changes = result.changes
    if result.replaced is not None:
        for label, days in (("days off added", changes.added_holidays),
                            ("days off removed", changes.removed_holidays),
                            ("make-up working days added", changes.added_workdays),
                            ("make-up working days removed", changes.removed_workdays)):
            if days:
                click.echo(f"  {label}: {_days(days)}")
    click.echo(f"deadlines of {looked_at} running cases recomputed (changes are in each case's history)")


@calendar_group.command("show", help="Print a year's days off and make-up working days.")
@click.argument("year", type=click.IntRange(1900, 2999))
@with_appcontext
def show(year: int) -> None:
    source = calendar_years.years_in_force(db.session).get(year)
    if source is None:
        raise CommandFailed(f"no holiday data for {year}: load it with `hcp calendar load {year}.toml`")
    data = source.data
    click.echo(f"{year} 年  {data.notice}\n来源: {source.describe()}")
    for festival in data.festivals:
        click.echo(f"\n{festival.name}  放假 {len(festival.holidays)} 天: {_days(festival.holidays)}")
        if festival.workdays:
            click.echo(f"  调休上班: {_days(festival.workdays)}")


@calendar_group.command("deadline", help="Print the deadline N working days after a receipt time "
                        "(the day of receipt is day 0), as ISO 8601 with offset.")
@click.option("--received", required=True, callback=aware_moment,
              help="Receipt time with offset, e.g. 2026-09-30T10:00:00+08:00.")
@click.option("--days", required=True, type=click.IntRange(min=1), help="Working days, e.g. 3, 5 or 15.")
@click.option("--provisional", is_flag=True, help="For a year without data, count weekends and 1 January "
              "only, as cases do until the year is loaded.")
@with_appcontext
def deadline(received: datetime, days: int, provisional: bool) -> None:
    moment = received
    calendar_years.sync_calendar(db.session)
    if provisional:
        result, is_provisional = calendars.provisional_deadline(moment, days)
        click.echo(result.isoformat() + ("  (provisional: a year without holiday data was used)"
                                         if is_provisional else ""))
        return
    try:
        click.echo(calendars.deadline(moment, days).isoformat())
    except calendars.CalendarYearMissing as error:
        raise CommandFailed(f"{error}; load it with `hcp calendar load {error.year}.toml`, "
                            "or add --provisional") from None


@calendar_group.command("check", help="List the years covered; warn (exit status 1) when the current year "
                        "is missing, or from 1 October when the next year is.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Check as of this date (default: today in Beijing time).")
@with_appcontext
def check(today: datetime | None) -> None:
    day = today.date() if today else datetime.now(calendars.SHANGHAI).date()
    for year, source in calendar_years.years_in_force(db.session).items():
        click.echo(f"{year}: {source.describe()}")
    warning = calendar_years.missing_next_year_warning(db.session, day)
    if warning:
        click.echo(f"警告: {warning}", err=True)
        raise SystemExit(1)
