"""Retention: closed cases past the retention are archived to a file that verifies, then
their history is removed; younger or unfinished ones stay; the minimum cannot be undercut."""

from __future__ import annotations

import gzip
import json
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.config import ConfigError, load_settings
from app.models import AuditEntry, Case, CaseEvent, OutboxRecord, Rating
from app.models.outbox import DELIVERED
from app.services.case_archive import archive_expired, verify_archive
from app.services.cases import open_case
from workflows.clock import ManualClock
from workflows.tables import HumanTask, ProcessInstance

from .test_cases import District, bad_rating, district, work  # noqa: F401


def closed_case(session: Session, district: District, clock: ManualClock) -> Case:
    case = open_case(session, bad_rating(session, district, clock, real_name=False))
    session.commit()
    work(session, case, "triage", district.h1, solved_on_spot=True, on_spot_measures="当场解决")
    work(session, case, "file_record", district.lead, filing_summary="备案")
    session.execute(text("UPDATE outbox SET status = :done"), {"done": DELIVERED})
    session.commit()
    return case


def count(session: Session, model: type, *where: object) -> int:
    return session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_expired_cases_are_archived_verified_and_removed(session: Session, district: District,
                                                         clock: ManualClock, tmp_path: Path) -> None:
    old = closed_case(session, district, clock)
    open_one = open_case(session, bad_rating(session, district, clock))  # still open: stays
    session.commit()
    clock.advance(timedelta(days=365 * 3))
    young = closed_case(session, district, clock)  # closed three years after the others
    old_no, old_rating, old_instance = old.case_no, old.rating_id, old.instance_id
    clock.advance(timedelta(days=365 * 7 + 10))  # 10 years after the first: only it is due
    dry = archive_expired(session, tmp_path, clock.now(), 10, dry_run=True)
    assert dry.archived == [old_no] and dry.path is None and count(session, Case) == 3
    result = archive_expired(session, tmp_path, clock.now(), 10)
    assert result.archived == [old_no] and result.path is not None and result.path.exists()
    assert count(session, Case, Case.case_no == old_no) == 0
    assert count(session, Case, Case.id.in_([young.id, open_one.id])) == 2
    assert count(session, CaseEvent, CaseEvent.case_id == old.id) == 0
    assert count(session, ProcessInstance, ProcessInstance.id == old_instance) == 0
    assert count(session, HumanTask, HumanTask.instance_id == old_instance) == 0
    assert count(session, OutboxRecord, OutboxRecord.stream == f"case:{old_no}") == 0
    assert session.get(Rating, old_rating) is not None  # the rating stays for statistics
    check = verify_archive(result.path)
    assert check.intact and check.cases == 1 and check.sha256 == result.sha256
    with gzip.open(result.path, "rt", encoding="utf-8") as stream:
        header, record = (json.loads(line) for line in stream)
    assert header["cases"] == 1 and record["case_no"] == old_no and record["events"][0]["event"] == "case_opened"


def test_a_tampered_archive_does_not_verify(session: Session, district: District, clock: ManualClock,
                                            tmp_path: Path) -> None:
    closed_case(session, district, clock)
    clock.advance(timedelta(days=365 * 11))
    path = archive_expired(session, tmp_path, clock.now(), 10).path
    with gzip.open(path, "rt", encoding="utf-8") as stream:
        header, record = (json.loads(line) for line in stream)
    record["events"][1]["actor"] = "someone.else"
    forged = tmp_path / "forged.jsonl.gz"
    with gzip.open(forged, "wt", encoding="utf-8") as out:
        out.write(json.dumps(header) + "\n" + json.dumps(record) + "\n")
    check = verify_archive(forged)
    assert not check.intact and "第2个事件内容与其哈希不符" in check.problems[0]
    truncated = tmp_path / "truncated.jsonl.gz"
    with gzip.open(truncated, "wt", encoding="utf-8") as out:
        out.write(json.dumps(header) + "\n")
    assert "文件被截断或改动" in verify_archive(truncated).problems[0]
    garbage = tmp_path / "garbage.jsonl.gz"
    garbage.write_bytes(b"not gzip")
    assert not verify_archive(garbage).intact


def test_cases_with_undelivered_records_or_broken_chains_stay(session: Session, district: District,
                                                               clock: ManualClock, tmp_path: Path) -> None:
    pending = closed_case(session, district, clock)
    broken = closed_case(session, district, clock)
    session.execute(text("UPDATE outbox SET status = 'pending' WHERE stream = :s"), {"s": f"case:{pending.case_no}"})
    session.execute(text("DROP TRIGGER case_event_no_update") if session.get_bind().dialect.name == "sqlite"
                    else text("ALTER TABLE case_event DISABLE TRIGGER case_event_no_change"))
    session.execute(text("UPDATE case_event SET actor = 'x' WHERE case_id = :c AND seq = 2"), {"c": broken.id})
    session.commit()
    clock.advance(timedelta(days=365 * 11))
    result = archive_expired(session, tmp_path, clock.now(), 10)
    assert result.path is None and result.archived == []
    assert "未送达" in result.skipped[pending.case_no] and "不完整" in result.skipped[broken.case_no]


def test_the_history_of_an_unarchived_case_still_cannot_be_deleted(session: Session, district: District,
                                                                    clock: ManualClock) -> None:
    case = closed_case(session, district, clock)
    with pytest.raises(Exception, match="append-only"):
        session.execute(text("DELETE FROM case_event WHERE case_id = :c"), {"c": case.id})
        session.flush()


def test_retention_is_never_below_the_legal_minimum(tmp_path: Path) -> None:
    assert load_settings(tmp_path, {"ENV": "development", "RETENTION_YEARS": "3"})["RETENTION_YEARS"] == 3
    with pytest.raises(ConfigError, match="HCP_RETENTION_YEARS: 2 is shorter than the legal minimum of 3 years"):
        load_settings(tmp_path, {"ENV": "development", "RETENTION_YEARS": "2"})


def test_hcp_audit_archive_and_verify_archive(app: Flask, session: Session, district: District,
                                              clock: ManualClock) -> None:
    closed_case(session, district, clock)
    clock.advance(timedelta(days=365 * 11))
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["audit", "archive", "--dry-run"])
    assert dry.exit_code == 0 and "1个案件到期待归档" in dry.output
    done = runner.invoke(args=["audit", "archive"])
    assert done.exit_code == 0, done.output
    path = Path(done.output.split("历史：")[1].split("（")[0])
    assert runner.invoke(args=["audit", "verify-archive", str(path)]).exit_code == 0
    entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "cases_archived")).one()
    assert entry.detail["cases"] == 1 and entry.target == path.name
    assert "没有到期的案件" in runner.invoke(args=["audit", "archive"]).output
