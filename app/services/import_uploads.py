"""Paper rating sheets uploaded in the browser: the same import as ``hcp ratings import``
(every row through the intake service), with the error report kept for download."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy.orm import Session

from .api_keys import ApiKeyError
from .rating_import import ImportInterrupted, ImportReport, find_source, import_ratings, write_error_report
from .rating_sheet import ImportFileError, read_rows

SUFFIXES = (".csv", ".xlsx")
REPORT_NAME_LENGTH = 32  # hex characters of the random report name


class UploadRefused(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class UploadResult:
    filename: str
    source: str
    report: ImportReport
    report_name: str | None  # the error report's name under the reports folder, if any rows failed
    interrupted: str | None = None


def reports_folder(instance_path: str) -> Path:
    return Path(instance_path) / "import-reports"


def report_path(instance_path: str, name: str) -> Path | None:
    """The stored error report of that name; None for anything that is not one."""
    if len(name) != REPORT_NAME_LENGTH or any(c not in "0123456789abcdef" for c in name):
        return None
    path = reports_folder(instance_path) / f"{name}.csv"
    return path if path.is_file() else None


def import_upload(session_factory: Callable[[], Session], stream: IO[bytes], filename: str,
                  source_name: str | None, dry_run: bool, user: str, now: datetime,
                  instance_path: str) -> UploadResult:
    """Import an uploaded sheet; the upload is kept in a temporary file only while it is read."""
    suffix = Path(filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise UploadRefused("file", "只能导入 .csv 或 .xlsx 文件")
    with session_factory() as session:
        try:
            key = find_source(session, source_name, now, create=not dry_run, created_by=user)
        except ApiKeyError as error:
            raise UploadRefused("source", str(error)) from None
        session.commit()
        source = key.name
    handle, temporary = tempfile.mkstemp(suffix=suffix, prefix="hcp-upload-")
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := stream.read(1 << 16):
                out.write(chunk)
        try:
            rows = read_rows(temporary)
        except ImportFileError as error:
            raise UploadRefused("file", str(error)) from None
        interrupted = None
        with rows:
            try:
                report = import_ratings(session_factory, key, rows, now, dry_run=dry_run)
            except ImportInterrupted as stop:
                report, interrupted = stop.report, str(stop)
    finally:
        os.unlink(temporary)
    return UploadResult(filename, source, report, _keep_report(report, instance_path), interrupted)


def _keep_report(report: ImportReport, instance_path: str) -> str | None:
    if not report.problems:
        return None
    folder = reports_folder(instance_path)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = secrets.token_hex(REPORT_NAME_LENGTH // 2)
    with (folder / f"{name}.csv").open("w", encoding="utf-8-sig", newline="") as out:
        write_error_report(report, out)
    return name
