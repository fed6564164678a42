"""``hcp bulletin``: the monthly bulletin (一月一通报, R9) from the command line."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import calendars
import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from workflows.clock import current_clock

from ..extensions import db
from ..services import bulletin_pdf, bulletin_text, bulletins, report_exports
from ..services.push import PushConfigError, province_url, push_once
from ..services.report_period import Period, month_of
from . import CommandFailed


def _month(value: str | None) -> Period:
    if value is None:
        return month_of(current_clock().now()).previous_month()
    try:
        return Period.month(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a month like 2026-11", param_hint="--month") from None


@click.command("bulletin", help="The monthly bulletin (一月一通报): generate it for a month that has ended "
               "(stored, and queued for the supervision office), or show the stored one.")
@click.option("--month", "month_text", default=None, metavar="YYYY-MM", help="The month (default: last month).")
@click.option("--regenerate", is_flag=True, help="Generate a new revision even when one is stored.")
@click.option("--due", is_flag=True, help="Only generate the bulletin that is due today (what `hcp worker` "
              "does on the first working day of each month).")
@click.option("--json", "as_json", is_flag=True, help="Print the bulletin's content as JSON.")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Also write the printable PDF (with its charts) to this file.")
@click.option("--xlsx", "xlsx_path", type=click.Path(dir_okay=False, writable=True, path_type=Path), default=None,
              help="Also write the Excel workbook to this file.")
@click.option("--push", is_flag=True, help="Then push pending bulletins to HCP_SUPERVISION_URL once.")
@with_appcontext
def bulletin_command(month_text: str | None, regenerate: bool, due: bool, as_json: bool, pdf_path: Path | None,
                     xlsx_path: Path | None, push: bool) -> None:
    if due:
        if month_text or regenerate or pdf_path or xlsx_path:
            raise click.UsageError("--due takes no --month, --regenerate, --pdf or --xlsx")
        try:
            bulletin = bulletins.generate_due(db.sessionmaker)
        except calendars.CalendarYearMissing as missing:
            raise CommandFailed(f"{missing} (load the year's holiday data with `hcp calendar load`)") from None
        click.echo(f"generated the bulletin of {bulletin.month}" if bulletin else "no bulletin is due today")
    else:
        month = _month(month_text)
        try:
            bulletin, created = bulletins.generate(db.session, month, getpass.getuser(), regenerate=regenerate)
        except bulletins.BulletinError as error:
            raise CommandFailed(str(error)) from None
        db.session.commit()
        if not created:
            click.echo(f"stored bulletin of {bulletin.month}, revision {bulletin.revision} "
                       "(--regenerate makes a new one)", err=True)
        click.echo(json.dumps(bulletin.content, ensure_ascii=False, indent=2) if as_json
                   else bulletin_text.render(bulletin), nl=not as_json)
        for path, render in ((pdf_path, bulletin_pdf.render),
                             (xlsx_path, lambda b: report_exports.xlsx(report_exports.bulletin_tables(b.content)))):
            if path is not None:
                try:
                    path.write_bytes(render(bulletin))
                except OSError as error:
                    raise CommandFailed(f"cannot write {path}: {error.strerror or error}") from None
                click.echo(f"wrote {path}", err=True)
    if push:
        try:
            url = province_url(current_app.config["SUPERVISION_URL"], bulletins.SUPERVISION_URL_VARIABLE)
        except PushConfigError as error:
            raise CommandFailed(str(error)) from None
        result = push_once(db.sessionmaker, url, supervision=True)
        click.echo(f"supervision office: delivered {result.delivered} bulletins, {result.failed} failed", err=True)
        if result.failed:
            raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(bulletin_command)

