"""Import of ratings collected on paper (R3): a .csv or .xlsx sheet, one rating a row.

``read_rows`` reads the sheet (headers in Chinese or the JSON field names) and yields each
non-empty row with the row number the file shows (header = row 1). ``import_ratings``
turns each row into the intake JSON and passes it to ``ingest``, the service of the API,
so every rule is the same; it commits chunk by chunk. Intake is idempotent per source and
评价编号, so importing the same file again answers duplicates.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import islice
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..models import ApiKey, Channel
from .api_keys import ApiKeyError, create_key
from .intake import CONFLICT, CREATED, DUPLICATE, INVALID, IntakeOutcome, ingest
from .rating_input import RatingInputError, parse_rating
from .rating_sheet import HEADERS, Row, to_intake

class ImportInterrupted(RuntimeError):
    """An unexpected error (at ``row``, when one row caused it); ``report`` holds the rows
    committed before it (in a dry run: the rows checked)."""

    def __init__(self, where: str, report: ImportReport, cause: BaseException, row: int | None = None) -> None:
        reason = (str(cause).strip().splitlines() or [""])[0]
        super().__init__(f"导入在{where}中断：{type(cause).__name__}: {reason}")
        self.row, self.report = row, report


PAPER_SOURCE = "paper-import"


def _refused(raw: dict[str, Any], problems: dict[str, str], now: datetime) -> IntakeOutcome:
    """A row with unconvertible cells, with the intake's own findings on the other cells."""
    errors = dict(problems)
    try:
        parse_rating(raw, now=now)
    except RatingInputError as error:
        errors.update({key: message for key, message in error.errors.items() if key not in problems})
    return IntakeOutcome(INVALID, raw.get("id") if isinstance(raw.get("id"), str) else None, errors=errors)


# --- the import ------------------------------------------------------------------------------

@dataclass
class RowProblem:
    row: int
    external_id: str | None
    status: str  # invalid or conflict
    errors: dict[str, str]

    def lines(self) -> list[str]:
        return [f"第{self.row}行 {key}：{message}" for key, message in self.errors.items()]


@dataclass
class ImportReport:
    dry_run: bool = False
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((CREATED, DUPLICATE, INVALID, CONFLICT), 0))
    cases_opened: int = 0
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())

    @property
    def refused(self) -> int:
        return self.counts[INVALID] + self.counts[CONFLICT]

    def add(self, row: int, outcome: IntakeOutcome) -> None:
        self.counts[outcome.status] += 1
        if outcome.status == CREATED and outcome.case_no:
            self.cases_opened += 1
        if outcome.status in (INVALID, CONFLICT):
            self.problems.append(RowProblem(row, outcome.external_id, outcome.status, outcome.errors))

    def merge(self, part: ImportReport) -> None:
        for status, n in part.counts.items():
            self.counts[status] += n
        self.cases_opened += part.cases_opened
        self.problems.extend(part.problems)


def find_source(session: Session, name: str | None, now: datetime, *, create: bool,
                created_by: str = "rating-import") -> ApiKey:
    """The active key named ``name``, or the ``paper-import`` source (created when ``create``;
    otherwise, for a dry run, an unsaved stand-in); ``ApiKeyError`` when there is none. The
    created key's token is never shown: nobody can send through it, it only names the source."""
    wanted = (name or PAPER_SOURCE).strip().lower()
    key = session.scalar(select(ApiKey).where(ApiKey.name == wanted))
    if key is None and name is not None and wanted != PAPER_SOURCE:
        raise ApiKeyError(f"没有名为{wanted}的评价来源（API密钥）：请先用 hcp apikey create 创建")
    if key is None:
        if not create:
            return ApiKey(name=PAPER_SOURCE, channel=Channel.WINDOW_DEVICE)
        key, _token = create_key(session, PAPER_SOURCE, Channel.WINDOW_DEVICE, created_by, now)
    if not key.active:
        raise ApiKeyError(f"评价来源{key.name}的API密钥已吊销，不能再导入评价")
    return key


def _chunk(session: Session, key: ApiKey, batch: list[tuple[int, Row]], now: datetime,
           progress: Callable[[int], None] | None) -> ImportReport:
    source = (session.get(ApiKey, key.id) if key.id is not None else None) or key
    part = ImportReport()
    for number, row in batch:
        try:
            raw, problems = to_intake(row, source.channel.value)
            outcome = _refused(raw, problems, now) if problems else ingest(session, source, raw, now)
        except Exception as error:
            raise ImportInterrupted(f"第{number}行", part, error, number) from error
        part.add(number, outcome)
        if progress is not None:
            progress(1)
    return part


def import_ratings(session_factory: Callable[[], Session], key: ApiKey, rows_iterable: Iterable[tuple[int, Row]],
                   now: datetime, chunk: int = 500, progress: Callable[[int], None] | None = None,
                   *, dry_run: bool = False) -> ImportReport:
    """Import the rows as ratings of source ``key``, committing every ``chunk`` rows in a
    session of its own; ``progress(n)`` after each row. A dry run checks every row in one
    transaction, rolled back at the end, so its answers are those of the real import.
    An unexpected error raises ``ImportInterrupted`` carrying the committed rows' report."""
    if chunk < 1:
        raise ValueError("chunk must be at least 1")
    if now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    report, rows = ImportReport(dry_run=dry_run), iter(rows_iterable)

    def batches() -> Iterator[list[tuple[int, Row]]]:
        while True:
            try:
                batch = list(islice(rows, chunk))
            except Exception as error:
                raise ImportInterrupted("读取文件时", report, error) from error
            if not batch:
                return
            yield batch

    try:
        if dry_run:
            with session_factory() as session:
                try:
                    for batch in batches():
                        report.merge(_chunk(session, key, batch, now, progress))
                        session.flush()
                        session.expunge_all()  # memory stays flat; the rows remain in the transaction
                finally:
                    session.rollback()
            return report
        for batch in batches():
            with session_factory() as session:
                part = _chunk(session, key, batch, now, progress)
                try:
                    session.commit()
                except Exception as error:
                    raise ImportInterrupted(f"提交第{batch[0][0]}-{batch[-1][0]}行时", report, error) from error
            report.merge(part)
    except ImportInterrupted as stop:
        stop.report = report
        raise
    return report


REPORT_HEADER = ("行号", "评价编号", "结果", "列", "字段", "说明")
_STATUS_LABELS = {INVALID: "无效", CONFLICT: "冲突"}


def write_error_report(report: ImportReport, stream: TextIO) -> None:
    """All row errors as CSV, one line per error (open the stream with utf-8-sig for Excel)."""
    writer = csv.writer(stream)
    writer.writerow(REPORT_HEADER)
    for problem in report.problems:
        for key, message in problem.errors.items():
            name = key.removeprefix("evaluator.").split("[")[0]
            writer.writerow((problem.row, problem.external_id or "", _STATUS_LABELS[problem.status],
                             HEADERS.get(name, ""), key, message))
