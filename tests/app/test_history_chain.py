"""The tamper-evident case history: every change, deletion, insertion or reordering of an
event row is found, and the first broken event is named."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app import migrate
from app.extensions import db
from app.models import Case, CaseEvent
from app.services.cases import open_case
from app.services.history_chain import GENESIS, verify_all, verify_case
from workflows.clock import ManualClock

from ..db_support import fresh_database
from .conftest import make_app
from .test_cases import CONTACTED, District, bad_rating, district, work  # noqa: F401  (fixture)


@pytest.fixture
def worked_case(session: Session, district: District, clock: ManualClock) -> Case:
    case = open_case(session, bad_rating(session, district, clock))
    session.commit()
    work(session, case, "triage", district.h1, solved_on_spot=False)
    work(session, case, "contact_citizen", district.h1, **CONTACTED)
    return case


def tamper(session: Session, sql: str, **params: object) -> None:
    """What someone with database access could do: switch the append-only guard off, write."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE case_event DISABLE TRIGGER case_event_no_change"))
    else:
        session.execute(text("DROP TRIGGER case_event_no_update"))
        session.execute(text("DROP TRIGGER case_event_no_delete"))
    session.execute(text(sql), params)
    session.expire_all()


def seqs(session: Session, case: Case) -> list[int]:
    return list(session.scalars(select(CaseEvent.seq).where(CaseEvent.case_id == case.id).order_by(CaseEvent.seq)))


def test_a_worked_case_has_an_intact_chain(session: Session, worked_case: Case) -> None:
    check = verify_case(session, worked_case)
    assert check.intact and check.events == worked_case.history_count == len(seqs(session, worked_case)) > 5
    first = session.scalar(select(CaseEvent).where(CaseEvent.case_id == worked_case.id, CaseEvent.seq == 1))
    assert first.prev_hash == GENESIS and first.event == "case_opened"
    assert "历史完整" in check.describe()


def test_a_changed_event_is_found(session: Session, worked_case: Case) -> None:
    tamper(session, "UPDATE case_event SET data = :data WHERE case_id = :case AND seq = 3",
           data='{"forged": true}', case=worked_case.id)
    check = verify_case(session, worked_case)
    assert (check.intact, check.broken_seq) == (False, 3) and "被改动" in check.problem


def test_a_changed_actor_or_time_is_found(session: Session, worked_case: Case) -> None:
    tamper(session, "UPDATE case_event SET actor = 'someone.else' WHERE case_id = :case AND seq = 4",
           case=worked_case.id)
    assert verify_case(session, worked_case).broken_seq == 4


def test_a_deleted_event_in_the_middle_is_found(session: Session, worked_case: Case) -> None:
    tamper(session, "DELETE FROM case_event WHERE case_id = :case AND seq = 2", case=worked_case.id)
    check = verify_case(session, worked_case)
    assert (check.intact, check.broken_seq) == (False, 2) and "缺失" in check.problem


def test_deleted_newest_events_are_found(session: Session, worked_case: Case) -> None:
    last = worked_case.history_count
    tamper(session, "DELETE FROM case_event WHERE case_id = :case AND seq >= :last", case=worked_case.id,
           last=last - 1)
    check = verify_case(session, worked_case)
    assert not check.intact and check.broken_seq is None and "最新事件被删除" in check.problem


def test_reordered_events_are_found(session: Session, worked_case: Case) -> None:
    swap = ["UPDATE case_event SET seq = -1 WHERE case_id = :case AND seq = 3",
            "UPDATE case_event SET seq = 3 WHERE case_id = :case AND seq = 4",
            "UPDATE case_event SET seq = 4 WHERE case_id = :case AND seq = -1"]
    tamper(session, swap[0], case=worked_case.id)
    for sql in swap[1:]:
        session.execute(text(sql), {"case": worked_case.id})
    session.expire_all()
    assert seqs(session, worked_case)[:5] == [1, 2, 3, 4, 5]
    check = verify_case(session, worked_case)
    assert (check.intact, check.broken_seq) == (False, 3) and "链接不符" in check.problem


def test_the_migration_chains_events_written_before_it(tmp_path: Path, clock: ManualClock) -> None:
    with fresh_database(tmp_path) as url:
        app = make_app(url, tmp_path / "instance")
        with app.app_context():
            migrate.upgrade(db.engine)
            session = db.session
            district = District(session)
            case = open_case(session, bad_rating(session, district, clock))
            session.commit()
            work(session, case, "triage", district.h1, solved_on_spot=False)
            case_id, count = case.id, case.history_count
            session.close()
            migrate.downgrade(db.engine, "0006")
            migrate.upgrade(db.engine)
            case = db.session.get(Case, case_id)
            check = verify_case(db.session, case)
            assert check.intact and check.events == count == case.history_count
            db.session.close()
            db.engine.dispose()


def test_hcp_audit_verify_names_the_first_broken_event(app, session: Session, worked_case: Case) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["audit", "verify", worked_case.case_no])
    assert result.exit_code == 0 and "历史完整" in result.output
    whole = runner.invoke(args=["audit", "verify"])
    assert whole.exit_code == 0 and "全部完整" in whole.output and "个案件/秒" in whole.output
    tamper(session, "UPDATE case_event SET event = 'task_completed' WHERE case_id = :case AND seq = 2",
           case=worked_case.id)
    result = runner.invoke(args=["audit", "verify", worked_case.case_no])
    assert result.exit_code == 1 and f"{worked_case.case_no}：第2个事件内容与其哈希不符" in result.output
    whole = runner.invoke(args=["audit", "verify"])
    assert whole.exit_code == 1 and "第2个事件" in whole.output and "1个案件的历史被改动" in whole.output
    assert runner.invoke(args=["audit", "verify", "CP-NONE"]).exit_code == 2


def test_verify_all_finds_deleted_newest_events_and_emptied_cases(session: Session, worked_case: Case,
                                                                  district: District, clock: ManualClock) -> None:
    other = open_case(session, bad_rating(session, district, clock))
    session.commit()
    tamper(session, "DELETE FROM case_event WHERE case_id = :case", case=other.id)
    session.execute(text("DELETE FROM case_event WHERE case_id = :case AND seq = :last"),
                    {"case": worked_case.id, "last": worked_case.history_count})
    summary = verify_all(session)
    assert sorted(c.case_no for c in summary.broken) == sorted([other.case_no, worked_case.case_no])
    assert all("最新事件被删除" in c.problem for c in summary.broken)
