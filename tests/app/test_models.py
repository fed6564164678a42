"""The data model: codes, time zones, personal data, enums at the boundary, history."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.identifiers import InvalidCode, make_uscc, validate_uscc
from app.models import (AppendOnlyError, Case, CaseEvent, CaseStage, Channel, Department, Dimension,
                        IdType, Level, Rating, RatingDimension)
from app.services.case_history import record

from . import factories


@pytest.mark.parametrize("code", ["91350100M000100Y43", "11100000000019713D", "91110000600037341L"])
def test_real_credit_codes_are_valid(code: str) -> None:
    assert validate_uscc(code) == code


@pytest.mark.parametrize(("code", "message"), [
    ("91350100M000100Y4", "统一社会信用代码应为18位，实际为17位"),
    ("91350100M000100Y44", "统一社会信用代码校验位错误"),
    ("91350100M0001O0Y43", "统一社会信用代码含有非法字符：O"),
    ("9135A100M000100Y43", "统一社会信用代码第3-8位应为行政区划代码（6位数字）"),
])
def test_bad_credit_codes_are_refused_with_reason(code: str, message: str) -> None:
    with pytest.raises(InvalidCode, match=f"^{message}$"):
        validate_uscc(code)


def test_generated_credit_code_is_valid() -> None:
    code = make_uscc("11", "360112", "24601000")
    assert validate_uscc(code) == code


def test_department_refuses_invalid_credit_code(session: Session) -> None:
    with pytest.raises(InvalidCode):
        Department(credit_code="913501000000000000", name="x", short_name="x", region_code="360112")


def test_times_are_stored_in_utc_and_come_back_aware(session: Session) -> None:
    dept = factories.department(session)
    rating = factories.rating(session, dept)
    beijing = timezone(timedelta(hours=8))
    rating.evaluated_at = datetime(2026, 10, 1, 8, 30, tzinfo=beijing)
    session.commit()
    session.expire_all()
    loaded = session.get(Rating, rating.id)
    assert loaded.evaluated_at == datetime(2026, 10, 1, 0, 30, tzinfo=timezone.utc)
    assert loaded.evaluated_at.tzinfo is not None


def test_naive_times_are_refused(session: Session) -> None:
    dept = factories.department(session)
    rating = factories.rating(session, dept)
    rating.received_at = datetime(2026, 10, 1, 8, 30)
    with pytest.raises(Exception, match="naive datetime 2026-10-01T08:30:00 given; a timezone is required"):
        session.flush()


def test_evaluator_data_is_encrypted_in_the_database(session: Session) -> None:
    dept = factories.department(session)
    rating = factories.rating(session, dept)
    rating.real_name = True
    rating.set_evaluator(name="张晓明", phone="13812341234", id_type=IdType.RESIDENT_ID,
                         id_no="36010219900101123X")
    session.flush()
    raw = session.execute(text("SELECT evaluator_name, evaluator_phone, evaluator_id_no, "
                               "evaluator_phone_index FROM rating WHERE id = :id"), {"id": rating.id}).one()
    dump = " ".join(raw)
    for secret in ("张晓明", "13812341234", "36010219900101123X", "1234"):
        assert secret not in dump, "a database dump must not reveal personal data"
    session.expire_all()
    loaded = session.get(Rating, rating.id)
    assert loaded.evaluator_phone == "13812341234"
    assert loaded.masked_evaluator_phone == "138****1234"
    assert loaded.masked_evaluator_name == "张*明"
    assert loaded.masked_evaluator_id_no == "3601**********123X"


def test_blind_index_matches_the_same_phone_without_decrypting(session: Session) -> None:
    dept = factories.department(session)
    first, second = factories.rating(session, dept), factories.rating(session, dept)
    first.set_evaluator(name=None, phone="13812341234", id_type=None, id_no=None)
    second.set_evaluator(name=None, phone="138 1234 1234", id_type=None, id_no=None)
    session.flush()
    assert first.evaluator_phone_index == second.evaluator_phone_index
    found = session.scalars(select(Rating.id).where(
        Rating.evaluator_phone_index == first.evaluator_phone_index)).all()
    assert sorted(found) == sorted([first.id, second.id])


@pytest.mark.parametrize(("level", "national", "gbt", "bad"), [
    (Level.VERY_SATISFIED, 5, 1, False),
    (Level.SATISFIED, 4, 2, False),
    (Level.BASICALLY_SATISFIED, 3, 3, False),
    (Level.DISSATISFIED, 2, 4, True),
    (Level.VERY_DISSATISFIED, 1, 5, True),
])
def test_level_codes_map_both_ways(level: Level, national: int, gbt: int, bad: bool) -> None:
    """R1 and DESIGN.md §7: the national upload interface and GB/T 39046 run opposite ways."""
    assert level.national_code == national
    assert level.gbt39046_code == gbt
    assert Level.from_national_code(national) is level
    assert Level.from_label(level.label) is level
    assert level.is_bad is bad


def test_unknown_level_code_is_refused() -> None:
    with pytest.raises(ValueError, match=r"satisfaction code must be 1-5 \(5 = 非常满意\), got 6"):
        Level.from_national_code(6)


def test_enum_values_outside_the_list_are_refused_by_the_database(session: Session) -> None:
    dept = factories.department(session)
    rating = factories.rating(session, dept)
    with pytest.raises(IntegrityError):
        with session.begin_nested():
            session.execute(text("UPDATE rating SET level = 'great' WHERE id = :id"), {"id": rating.id})


def test_rating_carries_several_dimensions(session: Session) -> None:
    dept = factories.department(session)
    rating = factories.rating(session, dept)
    rating.dimension_tags = [RatingDimension(dimension=Dimension.EFFICIENCY),
                             RatingDimension(dimension=Dimension.TRIPS)]
    session.flush()
    session.expire_all()
    assert set(session.get(Rating, rating.id).dimensions) == {Dimension.EFFICIENCY, Dimension.TRIPS}
    assert {c.label for c in Channel} >= {"窗口评价器", "评价二维码", "政务服务网", "自助服务终端"}


def test_a_source_id_is_stored_once(session: Session) -> None:
    dept = factories.department(session)
    factories.rating(session, dept, external_id="dup-1")
    with pytest.raises(IntegrityError), session.begin_nested():
        factories.rating(session, dept, external_id="dup-1")


def _case(session: Session) -> Case:
    dept = factories.department(session)
    rating = factories.rating(session, dept)
    case = Case(case_no=f"CP{rating.id:08d}", rating=rating, department=dept, received_at=rating.received_at)
    session.add(case)
    session.flush()
    return case


def test_one_case_per_bad_rating(session: Session) -> None:
    case = _case(session)
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(Case(case_no="CP-other", rating=case.rating, department=case.department,
                         received_at=case.received_at))
        session.flush()


def test_stale_case_update_is_refused(session: Session) -> None:
    """Two people on one case: the second write, based on an old version, fails."""
    case = _case(session)
    # A colleague's write, through another path, moves the version on.
    session.execute(text("UPDATE case_file SET version = version + 1 WHERE id = :id"), {"id": case.id})
    case.stage = CaseStage.CONTACT
    with pytest.raises(StaleDataError):
        session.flush()


def _event(session: Session) -> CaseEvent:
    case = _case(session)
    entry = record(session, case, "case_opened", data={"rating_id": case.rating_id})
    session.flush()
    return entry


def test_history_refuses_changes_through_the_orm(session: Session) -> None:
    entry = _event(session)
    entry.event = "case_rewritten"
    with pytest.raises(AppendOnlyError, match="append-only"):
        session.flush()
    session.rollback()


def test_history_refuses_deletion_through_the_orm(session: Session) -> None:
    entry = _event(session)
    session.delete(entry)
    with pytest.raises(AppendOnlyError, match="append-only"):
        session.flush()
    session.rollback()


@pytest.mark.parametrize("statement", [
    "UPDATE case_event SET event = 'case_rewritten' WHERE id = :id",
    "DELETE FROM case_event WHERE id = :id",
])
def test_history_refuses_changes_in_the_database(session: Session, statement: str) -> None:
    entry = _event(session)
    with pytest.raises(Exception, match="case_event is append-only"), session.begin_nested():
        session.execute(text(statement), {"id": entry.id})
    assert session.scalar(select(CaseEvent.event).where(CaseEvent.id == entry.id)) == "case_opened"
