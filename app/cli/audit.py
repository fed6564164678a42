"""``hcp audit`` and ``hcp replay``: check that case histories were not altered, re-run
cases from their history, archive histories past their retention."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from calendars import SHANGHAI
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select

from workflows.clock import current_clock

from ..extensions import db
from ..models import Case
from ..services.audit_log import log_action
from ..services.case_archive import ArchiveError, archive_expired, verify_archive
from ..services.case_replay import replay_case
from ..services.history_chain import verify_all, verify_case
from . import CommandFailed, cli_actor


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


@audit_group.command("archive", help="归档并删除超过保存期限（HCP_RETENTION_YEARS，不低于法定最短期限）的已办结案件历史："
                     "先写入归档文件并核验，核验通过后才从数据库删除；评价与办件保留。")
@click.option("--dry-run", is_flag=True, help="只列出将被归档的案件，不写文件、不删除。")
@with_appcontext
def archive_command(dry_run: bool) -> None:
    years = current_app.config["RETENTION_YEARS"]
    folder = Path(current_app.instance_path) / "archive"
    try:
        result = archive_expired(db.session, folder, current_clock().now(), years, dry_run=dry_run,
                                 evidence_root=Path(current_app.instance_path) / "evidence")
    except ArchiveError as error:
        raise CommandFailed(str(error)) from None
    for case_no, why in result.skipped.items():
        click.echo(f"保留 {case_no}：{why}")
    if dry_run:
        click.echo(f"保存期限{years}年：{len(result.archived)}个案件到期待归档（试运行，未做任何改动）")
        return
    if result.path is None:
        click.echo(f"保存期限{years}年：没有到期的案件")
        return
    log_action(db.session, "cases_archived", actor=cli_actor(), target=result.path.name,
               detail={"sha256": result.sha256, "cases": len(result.archived), "first": result.archived[0],
                       "last": result.archived[-1], "retention_years": years})
    db.session.commit()
    click.echo(f"已归档并删除{len(result.archived)}个案件的历史：{result.path}（SHA-256 {result.sha256}）")


@audit_group.command("verify-archive", help="核验归档文件：重算每个案件的历史哈希链。退出状态：0 完整；1 有问题。")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def verify_archive_command(file: Path) -> None:
    check = verify_archive(file)
    for problem in check.problems:
        click.echo(problem)
    click.echo(f"{file.name}：{check.cases}个案件，SHA-256 {check.sha256}，" + ("核验通过" if check.intact else "核验失败"))
    raise SystemExit(0 if check.intact else 1)


@click.command("replay", help="按记录重演一个案件：从开始以记录的输入（表单数据、计时器触发、当时的日历数据）在当时的流程版本上重新执行，"
               "逐步与记录比较。退出状态：0 一致；1 不一致；2 案件不存在。")
@click.argument("case_no")
@click.option("--verify", is_flag=True, help="报告一致，或第一处不一致的步骤及差异。")
@click.option("--steps", "show_steps", is_flag=True, help="列出每一步重演后的待办任务与期限。")
@with_appcontext
def replay_command(case_no: str, verify: bool, show_steps: bool) -> None:
    case = db.session.scalar(select(Case).where(Case.case_no == case_no.strip()))
    if case is None:
        raise CommandFailed(f"没有案件 {case_no}")
    try:
        result = replay_case(db.session, case)
    except LookupError as error:
        raise CommandFailed(str(error)) from None
    if show_steps or not verify:
        for step in result.steps:
            first = step.events[0]
            tasks = "、".join(task[1] for task in step.ready) or "无"
            click.echo(f"{step.number:>3}. {step.at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} {first.event}"
                       f"（{first.actor}）→ 待办：{tasks}")
    click.echo(result.describe())
    raise SystemExit(0 if result.consistent else 1)


def register(app: Flask) -> None:
    app.cli.add_command(audit_group)
    app.cli.add_command(replay_command)
