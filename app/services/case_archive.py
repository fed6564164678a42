"""Retention of closed cases' histories (issue 8): a case closed longer ago than the
configured retention (never below the legal minimum, app/config.py) is written to an
archive file, the file is read back and verified, and only then is the case's history
removed from the database — its events, tasks, timers, process instance, comments,
evidence records and notifications. The rating and its service record stay (statistics).

The archive is gzip'd JSON lines: a header, then one line per case with the case, its
rating's non-personal facts and its complete chained history; ``verify_archive`` recomputes
every chain and checks it against the head recorded with the case.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workflows.tables import HumanTask, ProcessInstance, Timer

from ..models import (ArchivePermit, Case, CaseComment, CaseEvent, CaseStatus, EvidenceFile, Notification,
                      OutboxRecord)
from ..models.outbox import PENDING
from .history_chain import GENESIS, canonical, link, verify_case

FORMAT, VERSION = "hcp-case-archive", 1


class ArchiveError(ValueError):
    pass


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February in a year without one
        return moment.replace(year=moment.year - years, day=28)


def expired_cases(session: Session, now: datetime, years: int) -> list[Case]:
    cutoff = years_before(now, years)
    return list(session.scalars(select(Case).where(Case.status == CaseStatus.CLOSED, Case.closed_at < cutoff)
                                .order_by(Case.id)))


def _case_record(session: Session, case: Case) -> dict[str, Any]:
    rating, record = case.rating, case.rating.service_record
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq))
    return {
        "case_no": case.case_no, "department_code": case.department.credit_code,
        "received_at": _iso(case.received_at), "opened_at": _iso(case.opened_at), "closed_at": _iso(case.closed_at),
        "stage": case.stage.value, "outcome": case.outcome.value if case.outcome else None,
        "complex": case.is_complex, "complex_reason": case.complex_reason, "overdue": case.overdue,
        "deadlines": {"contact": _iso(case.contact_due_at), "rectify": _iso(case.rectify_due_at),
                      "close": _iso(case.close_due_at)},
        "rating": {"id": rating.id, "source": rating.source, "external_id": rating.external_id,
                   "level": rating.level.value, "channel": rating.channel.value, "record_no": record.record_no,
                   "item_code": rating.service_item.code, "excluded": rating.excluded,
                   "excluded_reason": rating.excluded_reason, "real_name": rating.real_name},
        "history_count": case.history_count, "history_head": case.history_head,
        "events": [{"seq": e.seq, "event": e.event, "actor_id": e.actor_id, "actor": e.actor,
                    "occurred_at": _iso(e.occurred_at), "data": e.data, "prev_hash": e.prev_hash, "hash": e.hash}
                   for e in events],
        "evidence": [{"filename": f.filename, "content_type": f.content_type, "size": f.size, "sha256": f.sha256,
                      "uploaded_at": _iso(f.created_at)} for f in session.scalars(
                          select(EvidenceFile).where(EvidenceFile.case_id == case.id))],
        "comments": [{"author_id": c.author_id, "at": _iso(c.created_at), "body": c.body} for c in session.scalars(
            select(CaseComment).where(CaseComment.case_id == case.id))],
    }


def _check_chain(record: dict[str, Any]) -> str | None:
    """None when the record's events chain to its head; else what is wrong."""
    prev = GENESIS
    for expected, event in enumerate(record["events"], start=1):
        if event["seq"] != expected or event["prev_hash"] != prev:
            return f"第{expected}个事件缺失或链接不符"
        digest = link(prev, canonical(record["case_no"], event["seq"], event["event"], event["actor_id"],
                                      event["actor"], datetime.fromisoformat(event["occurred_at"]), event["data"]))
        if digest != event["hash"]:
            return f"第{expected}个事件内容与其哈希不符"
        prev = digest
    if len(record["events"]) != record["history_count"] or prev != record["history_head"]:
        return "历史末端与案件记录不符"
    return None


@dataclass
class ArchiveCheck:
    path: Path
    sha256: str
    cases: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        for line in stream:
            yield json.loads(line)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_archive(path: str | Path) -> ArchiveCheck:
    """Read an archive back: its header, and every case's chain against its head."""
    path = Path(path)
    check = ArchiveCheck(path, file_sha256(path))
    try:
        lines = _lines(path)
        header = next(lines, None)
        if not header or header.get("format") != FORMAT or header.get("version") != VERSION:
            raise ArchiveError(f"{path.name} 不是案件归档文件")
        for record in lines:
            check.cases += 1
            problem = _check_chain(record)
            if problem:
                check.problems.append(f"{record.get('case_no')}：{problem}")
        if check.cases != header.get("cases"):
            check.problems.append(f"归档文件应有{header.get('cases')}个案件，实有{check.cases}个（文件被截断或改动）")
    except (OSError, EOFError, ValueError, KeyError, TypeError) as error:
        check.problems.append(f"无法读取归档文件：{error}")
    return check


@dataclass
class ArchiveResult:
    path: Path | None
    sha256: str | None
    archived: list[str]
    skipped: dict[str, str]  # case no -> why it stays


def archive_expired(session: Session, folder: Path, now: datetime, years: int, *, evidence_root: Path | None = None,
                    dry_run: bool = False, progress: Callable[[int], None] | None = None) -> ArchiveResult:
    """Archive and remove the histories of cases closed more than ``years`` ago."""
    candidates, skipped = [], {}
    for case in expired_cases(session, now, years):
        chain = verify_case(session, case)
        pending = session.scalar(select(OutboxRecord.id).where(OutboxRecord.stream == f"case:{case.case_no}",
                                                               OutboxRecord.status == PENDING).limit(1))
        if not chain.intact:
            skipped[case.case_no] = "历史哈希链不完整，保留待查：" + chain.describe()
        elif pending is not None:
            skipped[case.case_no] = "仍有未送达省级系统的记录"
        else:
            candidates.append(case)
    if dry_run or not candidates:
        return ArchiveResult(None, None, [c.case_no for c in candidates], skipped)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"cases-{now.strftime('%Y%m%dT%H%M%S')}-{len(candidates)}.jsonl.gz"
    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wt", encoding="utf-8") as out:
        out.write(json.dumps({"format": FORMAT, "version": VERSION, "created_at": now.isoformat(),
                              "retention_years": years, "cases": len(candidates)}, ensure_ascii=False) + "\n")
        for case in candidates:
            out.write(json.dumps(_case_record(session, case), ensure_ascii=False, sort_keys=True) + "\n")
    with partial.open("rb") as stream:
        os.fsync(stream.fileno())
    partial.rename(path)
    check = verify_archive(path)
    if not check.intact:
        raise ArchiveError("归档文件核验失败，未删除任何数据：" + "；".join(check.problems[:5]))
    for case in candidates:  # one transaction per case: an interrupted run leaves whole cases
        files = _remove(session, case, now)
        session.commit()
        if evidence_root is not None:
            _purge_evidence(session, evidence_root, files)
        if progress is not None:
            progress(1)
    return ArchiveResult(path, check.sha256, [c.case_no for c in candidates], skipped)


def _remove(session: Session, case: Case, now: datetime) -> list[str]:
    """Remove one archived case's history; returns its evidence files' digests."""
    instance_id = case.instance_id
    files = list(session.scalars(select(EvidenceFile.sha256).where(EvidenceFile.case_id == case.id)))
    session.add(ArchivePermit(case_id=case.id, granted_at=now))
    session.flush()
    for statement in (delete(Notification).where(Notification.case_id == case.id),
                      delete(EvidenceFile).where(EvidenceFile.case_id == case.id),
                      delete(CaseComment).where(CaseComment.case_id == case.id),
                      delete(CaseEvent).where(CaseEvent.case_id == case.id),
                      delete(OutboxRecord).where(OutboxRecord.stream == f"case:{case.case_no}")):
        session.execute(statement.execution_options(synchronize_session=False))
    session.execute(delete(ArchivePermit).where(ArchivePermit.case_id == case.id))
    session.expunge(case)
    session.execute(delete(Case).where(Case.id == case.id))
    if instance_id is not None:
        for table in (HumanTask, Timer):
            session.execute(delete(table).where(table.instance_id == instance_id))
        session.execute(delete(ProcessInstance).where(ProcessInstance.id == instance_id))
    return files


def _purge_evidence(session: Session, root: Path, digests: list[str]) -> None:
    """Delete stored evidence bytes no remaining case refers to (after the commit)."""
    for sha in digests:
        if session.scalar(select(EvidenceFile.id).where(EvidenceFile.sha256 == sha).limit(1)) is None:
            (root / sha[:2] / sha).unlink(missing_ok=True)
