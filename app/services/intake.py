"""Rating intake from every channel (R3): one rating or a batch, idempotent per source,
service records created when the platform's data has not arrived yet, and the case of a
bad rating opened in the same transaction (R5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from calendars import SHANGHAI
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import (ApiKey, Case, Department, Rating, RatingDimension, ServiceItem, ServiceRecord,
                      StaffMember)
from .cases import open_case
from .province_records import enqueue_evaluation
from .rating_input import RatingInput, RatingInputError, parse_rating

MAX_BATCH = 1000
CREATED, DUPLICATE, INVALID, CONFLICT = "created", "duplicate", "invalid", "conflict"


@dataclass
class IntakeOutcome:
    status: str
    external_id: str | None
    rating_id: int | None = None
    case_no: str | None = None
    deadlines: dict[str, str | None] = field(default_factory=dict)
    provisional: bool | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status, "id": self.external_id}
        if self.rating_id is not None:
            body["rating_id"] = self.rating_id
            body["case_no"] = self.case_no
            if self.case_no:
                body["deadlines"] = self.deadlines
                body["deadlines_provisional"] = self.provisional
        if self.errors:
            body["errors"] = self.errors
        return body


class Refused(Exception):
    def __init__(self, status: str, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.status, self.errors = status, errors


def _beijing(moment: datetime | None) -> str | None:
    """Deadlines are answered as the law states them: 23:59:59 Beijing time."""
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


def _answer(rating: Rating, case: Case | None, status: str) -> IntakeOutcome:
    outcome = IntakeOutcome(status, rating.external_id, rating.id)
    if case is not None:
        outcome.case_no = case.case_no
        outcome.deadlines = {"contact": _beijing(case.contact_due_at), "rectify": _beijing(case.rectify_due_at)}
        outcome.provisional = case.deadlines_provisional
    return outcome


def _existing(session: Session, source: str, external_id: str) -> IntakeOutcome | None:
    rating = session.scalar(select(Rating).where(Rating.source == source, Rating.external_id == external_id))
    if rating is None:
        return None
    case = session.scalar(select(Case).where(Case.rating_id == rating.id))
    return _answer(rating, case, DUPLICATE)


def _service_record(session: Session, data: RatingInput) -> ServiceRecord:
    errors: dict[str, str] = {}
    item = session.scalar(select(ServiceItem).where(ServiceItem.code == data.service_item_code))
    if item is None:
        errors["service_item_code"] = "未知的事项编码"
    department = None
    if data.department_code:
        department = session.scalar(select(Department).where(Department.credit_code == data.department_code))
        if department is None:
            errors["department_code"] = "未知的部门统一社会信用代码"
    record = session.scalar(select(ServiceRecord).where(ServiceRecord.record_no == data.service_record_no))
    if record is not None:
        if item is not None and record.service_item_id != item.id:
            errors["service_item_code"] = "与办件的事项不一致"
        if department is not None and record.department_id != department.id:
            errors["department_code"] = "与办件的办理部门不一致"
    elif department is None and "department_code" not in errors:
        errors["department_code"] = "办件尚未同步时须提供办理部门"
    if errors:
        raise Refused(INVALID, errors)
    if record is None:
        # The rating came before the platform's record: keep it, complete the record later.
        record = ServiceRecord(record_no=data.service_record_no, service_item=item, department=department,
                               awaiting_platform=True)
        session.add(record)
        session.flush()
    return record


def _staff(session: Session, data: RatingInput, record: ServiceRecord) -> StaffMember | None:
    if not data.staff_no:
        return record.staff_member
    staff = session.scalar(select(StaffMember).where(StaffMember.department_id == record.department_id,
                                                     StaffMember.staff_no == data.staff_no))
    if staff is None:
        raise Refused(INVALID, {"staff_no": "办理部门中没有该工号"})
    return staff


def _sequence(session: Session, data: RatingInput, record: ServiceRecord) -> int:
    """一次一评: a record is rated once, then at most one follow-up (追评)."""
    earlier = session.scalar(select(func.count()).select_from(Rating)
                             .where(Rating.service_record_id == record.id)) or 0
    if earlier and not data.follow_up:
        raise Refused(CONFLICT, {"service_record_no": "该办件已评价（一次一评）；追评请设置 follow_up"})
    if data.follow_up and not earlier:
        raise Refused(INVALID, {"follow_up": "该办件尚无首次评价，不能追评"})
    if earlier >= 2:
        raise Refused(CONFLICT, {"follow_up": "该办件已有追评"})
    return earlier + 1


def _store(session: Session, key: ApiKey, data: RatingInput, now: datetime) -> IntakeOutcome:
    record = _service_record(session, data)
    staff = _staff(session, data, record)
    sequence = _sequence(session, data, record)
    rating = Rating(source=key.name, external_id=data.external_id, service_record=record,
                    service_item_id=record.service_item_id, department_id=record.department_id,
                    staff_member=staff, channel=data.channel, level=data.level, comment=data.comment,
                    sequence=sequence, region_code=data.region_code, evaluated_at=data.evaluated_at,
                    received_at=now)
    rating.dimension_tags = [RatingDimension(dimension=d) for d in data.dimensions]
    evaluator = data.evaluator
    if evaluator is not None:
        rating.real_name = evaluator.real_name
        rating.evaluator_type = evaluator.person_type
        rating.set_evaluator(name=evaluator.name, phone=evaluator.phone, id_type=evaluator.id_type,
                             id_no=evaluator.id_no)
    session.add(rating)
    session.flush()
    enqueue_evaluation(session, rating)  # R11, in the same transaction
    case = open_case(session, rating) if rating.level.is_bad else None
    return _answer(rating, case, CREATED)


def ingest(session: Session, key: ApiKey, raw: Any, now: datetime) -> IntakeOutcome:
    """Check and store one rating in a savepoint of the caller's transaction: all of it
    (record, rating, case, first task, history) or none of it."""
    external_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
    try:
        data = parse_rating(raw, now=now)
    except RatingInputError as error:
        return IntakeOutcome(INVALID, external_id, errors=error.errors)
    for attempt in (1, 2):
        found = _existing(session, key.name, data.external_id)
        if found is not None:
            return found
        try:
            with session.begin_nested():
                return _store(session, key, data, now)
        except Refused as refused:
            return IntakeOutcome(refused.status, data.external_id, errors=refused.errors)
        except IntegrityError:
            # The same rating (or its new service record) arrived at the same moment
            # through another request: look again, the other one has been stored.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def ingest_batch(session: Session, key: ApiKey, items: list[Any], now: datetime) -> list[IntakeOutcome]:
    return [ingest(session, key, raw, now) for raw in items]
