"""``hcp audit``: check that case histories were not altered."""

from __future__ import annotations

import sys
import time

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import func, select

from ..extensions import db
from ..models import Case
from ..services.history_chain import verify_all, verify_case
from . import CommandFailed


@click.group("audit", help="审计：核验案件历史未被篡改。")
def audit_group() -> None:
    pass


@audit_group.command("verify", help="核验一个案件（或全部案件）的历史哈希链，指出第一个被改动、删除或调换的事件。"
                     "退出状态：0 完整；1 发现篡改；2 案件不存在。")
@click.argument("case_no", required=False)
@with_appcontext
def verify_command(case_no: str | None) -> None:
    if case_no is not None:
        case = db.session.scalar(select(Case).where(Case.case_no == case_no.strip()))
        if case is None:
            raise CommandFailed(f"没有案件 {case_no}")
        check = verify_case(db.session, case)
        click.echo(check.describe())
        raise SystemExit(0 if check.intact else 1)
    started = time.perf_counter()
    with click.progressbar(length=db.session.scalar(select(func.count()).select_from(Case)) or 0,
                           label="核验案件历史", file=sys.stderr) as bar:
        summary = verify_all(db.session, bar.update)
    seconds = time.perf_counter() - started
    for check in summary.broken:
        click.echo(check.describe())
    rate = summary.cases / seconds if seconds > 0 else 0.0
    click.echo(f"核验{summary.cases}个案件、{summary.events}个事件，用时{seconds:.1f}秒（{rate:.0f}个案件/秒）："
               + ("全部完整" if not summary.broken else f"{len(summary.broken)}个案件的历史被改动"))
    raise SystemExit(1 if summary.broken else 0)


def register(app: Flask) -> None:
    app.cli.add_command(audit_group)
