"""What intake must know before storing ratings — service items, departments, service
records, staff, earlier ratings of each record, ratings already stored — read for a whole
batch with one query per kind, then checked in memory rating by rating.

The checks are the rules of R3: a known item and department, a record consistent with
both (or created from them when the platform's record has not arrived), a staff number of
the handling department, and 一次一评 (one rating per record, then at most one 追评).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from ..models import Case, Department, Rating, ServiceItem, ServiceRecord, StaffMember
from .rating_input import RatingInput

INVALID, CONFLICT = "invalid", "conflict"
CHUNK = 500  # values per IN list: far below every database's parameter limit

T = TypeVar("T")


class Refused(Exception):
    def __init__(self, status: str, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.status, self.errors = status, errors


def _chunks(values: Iterable[T]) -> Iterable[list[T]]:
    values = list(dict.fromkeys(values))
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _among(column: Any) -> Any:
    return column.in_(bindparam("values", expanding=True))


# The lookups, built once: a request only binds its values (one IN list per chunk).
_STORED = select(Rating.id, Rating.external_id).where(Rating.source == bindparam("source"), _among(Rating.external_id))
_ITEMS = select(ServiceItem.id, ServiceItem.code).where(_among(ServiceItem.code))
_DEPARTMENTS = select(Department.id, Department.credit_code).where(_among(Department.credit_code))
# A known record with what checking a rating of it needs: its ratings so far (一次一评), and
# the staff number and department code the province is told.
_RECORDS = (select(ServiceRecord.id, ServiceRecord.record_no, ServiceRecord.service_item_id,
                   ServiceRecord.department_id, ServiceRecord.staff_member_id,
                   select(func.count()).where(Rating.service_record_id == ServiceRecord.id)
                   .correlate(ServiceRecord).scalar_subquery().label("ratings"),
                   StaffMember.staff_no, Department.credit_code)
            .join(Department, Department.id == ServiceRecord.department_id)
            .outerjoin(StaffMember, StaffMember.id == ServiceRecord.staff_member_id)
            .where(_among(ServiceRecord.record_no)))
_STAFF = select(StaffMember.id, StaffMember.department_id, StaffMember.staff_no).where(_among(StaffMember.staff_no))


@dataclass
class RecordRef:
    """A service record as intake needs it; ``id`` is None until a new one is inserted."""

    id: int | None
    record_no: str
    service_item_id: int
    department_id: int
    staff_member_id: int | None


@dataclass
class Lookups:
    items: dict[str, Any] = field(default_factory=dict)  # code -> (id, code)
    item_codes: dict[int, str] = field(default_factory=dict)  # id -> code
    departments: dict[str, Any] = field(default_factory=dict)  # credit code -> (id, credit_code)
    department_codes: dict[int, str] = field(default_factory=dict)  # id -> credit code
    records: dict[str, RecordRef] = field(default_factory=dict)
    new_records: list[RecordRef] = field(default_factory=list)
    staff: dict[tuple[int, str], Any] = field(default_factory=dict)  # -> (id, department_id, staff_no)
    staff_numbers: dict[int, str] = field(default_factory=dict)  # id -> staff no
    ratings_of_record: dict[str, int] = field(default_factory=dict)  # record no -> ratings stored
    stored: dict[str, Any] = field(default_factory=dict)  # external id -> (id, external_id) or a new rating
    cases: dict[int, Case] = field(default_factory=dict)  # rating id -> its case

    @classmethod
    def load(cls, session: Session, connection: Connection, source: str, inputs: Sequence[RatingInput]) -> Lookups:
        """Read what the batch needs through the session's connection: plain rows, in the
        session's transaction, without the ORM's per-statement work (the caller flushes the
        session first, so that what it holds is seen)."""
        found = cls()
        found._load(connection, source, inputs)
        found._load_cases(session)
        return found

    def _load(self, connection: Connection, source: str, inputs: Sequence[RatingInput]) -> None:
        def rows(statement: Any, values: Iterable[Any], **params: Any) -> Iterable[Any]:
            for chunk in _chunks(values):
                yield from connection.execute(statement, {"values": chunk, **params})

        for rating in rows(_STORED, (i.external_id for i in inputs), source=source):
            self.stored[rating.external_id] = rating
        fresh = [i for i in inputs if i.external_id not in self.stored]
        for item in rows(_ITEMS, (i.service_item_code for i in fresh)):
            self.items[item.code] = item
            self.item_codes[item.id] = item.code
        for dept in rows(_DEPARTMENTS, (i.department_code for i in fresh if i.department_code)):
            self.departments[dept.credit_code] = dept
        for row in rows(_RECORDS, (i.service_record_no for i in fresh)):
            self.records[row.record_no] = RecordRef(*row[:5])
            if row.ratings:
                self.ratings_of_record[row.record_no] = row.ratings
            if row.staff_no is not None:
                self.staff_numbers[row.staff_member_id] = row.staff_no
            self.department_codes[row.department_id] = row.credit_code
        for staff in rows(_STAFF, {i.staff_no for i in fresh if i.staff_no}):
            self.staff[(staff.department_id, staff.staff_no)] = staff
            self.staff_numbers[staff.id] = staff.staff_no
        self.department_codes.update((d.id, code) for code, d in self.departments.items())

    def _load_cases(self, session: Session) -> None:
        """The cases of ratings sent before (their answer repeats the case's deadlines)."""
        for chunk in _chunks(r.id for r in self.stored.values()):
            for case in session.scalars(select(Case).where(Case.rating_id.in_(chunk))):
                self.cases[case.rating_id] = case

    # -- the checks, in memory ------------------------------------------------------------
    def service_record(self, data: RatingInput) -> RecordRef:
        """The rated record, or a new one (inserted with the batch) when the platform's data
        has not arrived yet; refused when codes are unknown or disagree with the record."""
        errors: dict[str, str] = {}
        item = self.items.get(data.service_item_code)
        if item is None:
            errors["service_item_code"] = "未知的事项编码"
        department = None
        if data.department_code:
            department = self.departments.get(data.department_code)
            if department is None:
                errors["department_code"] = "未知的部门统一社会信用代码"
        record = self.records.get(data.service_record_no)
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
            assert item is not None and department is not None
            record = RecordRef(None, data.service_record_no, item.id, department.id, None)
        return record

    def staff_member_id(self, data: RatingInput, record: RecordRef) -> int | None:
        if not data.staff_no:
            return record.staff_member_id
        staff = self.staff.get((record.department_id, data.staff_no))
        if staff is None:
            raise Refused(INVALID, {"staff_no": "办理部门中没有该工号"})
        return staff.id

    def sequence(self, data: RatingInput) -> int:
        """一次一评: a record is rated once, then at most one follow-up (追评)."""
        earlier = self.ratings_of_record.get(data.service_record_no, 0)
        if earlier and not data.follow_up:
            raise Refused(CONFLICT, {"service_record_no": "该办件已评价（一次一评）；追评请设置 follow_up"})
        if data.follow_up and not earlier:
            raise Refused(INVALID, {"follow_up": "该办件尚无首次评价，不能追评"})
        if earlier >= 2:
            raise Refused(CONFLICT, {"follow_up": "该办件已有追评"})
        return earlier + 1

    def stored_rating(self, data: RatingInput, record: RecordRef, rating: Any) -> None:
        """Count a rating about to be stored: later ratings of the batch see it."""
        if record.record_no not in self.records:
            self.records[record.record_no] = record
            self.new_records.append(record)
        self.ratings_of_record[data.service_record_no] = self.ratings_of_record.get(data.service_record_no, 0) + 1
        self.stored[data.external_id] = rating


__all__ = ["CONFLICT", "INVALID", "Lookups", "Refused"]
