"""``hcp ratings import``: ratings collected on paper, from a .csv or .xlsx sheet."""

from __future__ import annotations

import getpass
import sys
from datetime import datetime, timezone
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from ..extensions import db
from ..services.api_keys import ApiKeyError
from ..services.intake import CONFLICT, CREATED, DUPLICATE, INVALID
from ..services.rating_import import (PAPER_SOURCE, ImportInterrupted, ImportReport, find_source,
                                      import_ratings, write_error_report)
from ..services.rating_sheet import ImportFileError, read_rows
from . import CommandFailed


@click.group("ratings", help="评价数据：导入纸质评价表。")
def ratings_group() -> None:
    pass


def _summary(report: ImportReport, file: Path) -> str:
    counts = report.counts
    text = (f"共{report.rows}行：新增{counts[CREATED]}条，重复{counts[DUPLICATE]}条，"
            f"无效{counts[INVALID]}条，冲突{counts[CONFLICT]}条；开立差评案件{report.cases_opened}件")
    return (f"{file.name}（试运行，未保存任何数据）" if report.dry_run else file.name) + "：" + text


def _show_errors(report: ImportReport, limit: int) -> None:
    lines = [line for problem in report.problems for line in problem.lines()]
    for line in lines[:limit]:
        click.echo(line)
    if len(lines) > limit:
        click.echo(f"……另有{len(lines) - limit}条错误，见错误报告")


def _write_report(report: ImportReport, path: Path) -> None:
    try:
        with path.open("w", encoding="utf-8-sig", newline="") as stream:  # with BOM: Excel reads it right
            write_error_report(report, stream)
    except OSError as error:
        raise CommandFailed(f"无法写入错误报告{path}：{error.strerror or error}") from None
    click.echo(f"错误报告：{path}")


@ratings_group.command("import", help="导入纸质评价表（.csv或.xlsx，第一行为列名，如评价编号、办件编号、事项编码、"
                       "满意度、评价时间）。每行按接口的同一规则入库；差评自动立案。重复导入同一文件只会得到“重复”。"
                       "退出状态：0 全部入库或重复；1 有行被拒绝；2 文件无法读取。")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", "source_name", default=None, metavar="NAME",
              help=f"评价来源（已有API密钥的名称），默认{PAPER_SOURCE}（窗口评价器，缺少时自动创建）。")
@click.option("--dry-run", is_flag=True, help="只校验并报告，不保存任何数据。")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="错误报告（CSV）的路径，默认与文件同目录的“<文件名>-导入错误.csv”。")
@click.option("--show", type=click.IntRange(0, 10_000), default=20, show_default=True,
              help="在终端列出的行错误条数。")
@click.option("--chunk", type=click.IntRange(1, 10_000), default=500, show_default=True,
              help="每次提交的行数。")
@with_appcontext
def import_command(file: Path, source_name: str | None, dry_run: bool, report_path: Path | None,
                   show: int, chunk: int) -> None:
    now = datetime.now(timezone.utc)
    try:
        rows = read_rows(file)
    except ImportFileError as error:
        raise CommandFailed(str(error)) from None
    report_path = report_path or file.with_name(f"{file.stem}-导入错误.csv")
    with rows:
        try:
            key = find_source(db.session, source_name, now, create=not dry_run, created_by=getpass.getuser())
        except ApiKeyError as error:
            raise CommandFailed(str(error)) from None
        db.session.commit()
        label = "校验评价（试运行）" if dry_run else f"导入评价（来源 {key.name}）"
        with click.progressbar(length=max(rows.total, 1), label=label, file=sys.stderr) as bar:
            try:
                report = import_ratings(db.sessionmaker, key, rows, now, chunk=chunk, progress=bar.update,
                                        dry_run=dry_run)
            except ImportInterrupted as stop:
                interrupted: ImportInterrupted | None = stop
                report = stop.report
            else:
                interrupted = None
    click.echo(_summary(report, file))
    _show_errors(report, show)
    if report.problems:
        _write_report(report, report_path)
    if interrupted is not None:
        kept = ("试运行未保存任何数据" if dry_run else f"此前已提交的{report.rows}行不受影响，"
                "排除故障后重新导入同一文件即可（已保存的行显示为重复）")
        raise CommandFailed(f"{interrupted}；{kept}")
    if report.refused:
        raise SystemExit(1)


def register(app: Flask) -> None:
    app.cli.add_command(ratings_group)
