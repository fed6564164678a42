"""Rating intake from every channel (R3): one rating or a batch, idempotent per source,
service records created when the platform's data has not arrived yet, and the case of a
bad rating opened in the same transaction (R5)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from calendars import SHANGHAI
from sqlalchemy import Connection, insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..models import Case, EvaluatorType, Rating, RatingDimension, ServiceRecord
from ..models.rating import evaluator_values
from ..sqlite_writes import begin_write
from .cases import open_case
from .intake_lookups import CONFLICT, INVALID, Lookups, RecordRef, Refused
from .province_records import EvaluationFacts, enqueue_evaluations
from .rating_input import EvaluatorInput, RatingInput, RatingInputError, parse_rating


class RatingSource(Protocol):
    """Who sends the ratings: an authenticated API key (``api_keys.SourceKey``), or the
    key a paper import speaks for. Its name is the ratings' ``source``."""

    @property
    def name(self) -> str: ...


MAX_BATCH = 1000
CREATED, DUPLICATE = "created", "duplicate"
__all__ = ["CONFLICT", "CREATED", "DUPLICATE", "INVALID", "IntakeOutcome", "MAX_BATCH", "ingest", "ingest_batch"]


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


def _beijing(moment: datetime | None) -> str | None:
    """Deadlines are answered as the law states them: 23:59:59 Beijing time."""
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


def _answer(external_id: str, rating_id: int, case: Case | None, status: str) -> IntakeOutcome:
    outcome = IntakeOutcome(status, external_id, rating_id)
    if case is not None:
        outcome.case_no = case.case_no
        outcome.deadlines = {"contact": _beijing(case.contact_due_at), "rectify": _beijing(case.rectify_due_at)}
        outcome.provisional = case.deadlines_provisional
    return outcome


@dataclass
class _NewRating:
    """A checked rating of this batch, inserted with the others; ``id`` once inserted."""

    data: RatingInput
    record: RecordRef
    row: dict[str, Any]
    id: int | None = None


def _parse(raw: Any, now: datetime) -> RatingInput | IntakeOutcome:
    try:
        return parse_rating(raw, now=now)
    except RatingInputError as error:
        external_id = raw.get("id") if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
        return IntakeOutcome(INVALID, external_id, errors=error.errors)


def evaluator_columns(evaluator: EvaluatorInput | None) -> dict[str, Any]:
    if evaluator is None:
        return evaluator_values(name=None, phone=None, id_type=None, id_no=None)
    return {"real_name": evaluator.real_name, "evaluator_type": evaluator.person_type,
            **evaluator_values(name=evaluator.name, phone=evaluator.phone, id_type=evaluator.id_type,
                               id_no=evaluator.id_no)}


def _new_rating(key: RatingSource, data: RatingInput, lookups: Lookups, now: datetime) -> _NewRating:
    record = lookups.service_record(data)
    row: dict[str, Any] = {
        "source": key.name, "external_id": data.external_id, "service_item_id": record.service_item_id,
        "department_id": record.department_id, "staff_member_id": lookups.staff_member_id(data, record),
        "channel": data.channel, "level": data.level, "comment": data.comment,
        "sequence": lookups.sequence(data), "region_code": data.region_code,
        "evaluated_at": data.evaluated_at, "received_at": now, "excluded": False,
        "real_name": False, "evaluator_type": EvaluatorType.PERSON}
    row.update(evaluator_columns(data.evaluator))
    return _NewRating(data, record, row)


def _insert(connection: Connection, lookups: Lookups, created: list[_NewRating]) -> None:
    """Insert the batch's new records, ratings and dimensions: one Core statement per table,
    on the session's connection (plain rows: no ORM objects are needed for them)."""
    if lookups.new_records:
        records = ServiceRecord.__table__
        ids = connection.execute(insert(records).returning(records.c.id, sort_by_parameter_order=True), [
            {"record_no": r.record_no, "service_item_id": r.service_item_id, "department_id": r.department_id,
             "awaiting_platform": True} for r in lookups.new_records]).scalars().all()
        for record, record_id in zip(lookups.new_records, ids, strict=True):
            record.id = record_id
    ratings = Rating.__table__
    rows = [{**new.row, "service_record_id": new.record.id} for new in created]
    ids = connection.execute(insert(ratings).returning(ratings.c.id, sort_by_parameter_order=True),
                             rows).scalars().all()
    for new, rating_id in zip(created, ids, strict=True):
        new.id = rating_id
    tags = [{"rating_id": new.id, "dimension": d} for new in created for d in new.data.dimensions]
    if tags:
        connection.execute(insert(RatingDimension.__table__), tags)


def _facts(new: _NewRating, lookups: Lookups) -> EvaluationFacts:
    data, row = new.data, new.row
    return EvaluationFacts(
        record_no=new.record.record_no, item_code=lookups.item_codes[row["service_item_id"]],
        department_code=lookups.department_codes[row["department_id"]], level=data.level, channel=data.channel,
        evaluated_at=data.evaluated_at, sequence=row["sequence"], comment=data.comment,
        dimensions=data.dimensions, real_name=row["real_name"], evaluator_type=row["evaluator_type"],
        region_code=data.region_code, staff_no=lookups.staff_numbers.get(row["staff_member_id"] or 0))


def _store_all(session: Session, key: RatingSource, entries: list[RatingInput | IntakeOutcome],
               now: datetime) -> list[IntakeOutcome]:
    """Check and store a batch: one query per kind of lookup, one insert per table, then
    the cases of the bad ratings (R5) — all in the caller's transaction."""
    session.flush()  # what the session holds is seen by the lookups and the inserts below
    connection = session.connection()
    lookups = Lookups.load(session, connection, key.name, [e for e in entries if isinstance(e, RatingInput)])
    slots: list[IntakeOutcome | tuple[str, Any]] = []
    created: list[_NewRating] = []
    for entry in entries:
        if isinstance(entry, IntakeOutcome):
            slots.append(entry)
            continue
        stored = lookups.stored.get(entry.external_id)
        if stored is not None:  # sent before, or twice in this batch
            slots.append((DUPLICATE, stored))
            continue
        try:
            new = _new_rating(key, entry, lookups, now)
        except Refused as refused:
            slots.append(IntakeOutcome(refused.status, entry.external_id, errors=refused.errors))
            continue
        lookups.stored_rating(entry, new.record, new)
        created.append(new)
        slots.append((CREATED, new))
    if created:
        _insert(connection, lookups, created)
        enqueue_evaluations(connection, [(new.id, _facts(new, lookups)) for new in created])  # R11
        for new in created:
            if new.data.level.is_bad:
                rating = session.get_one(Rating, new.id)
                lookups.cases[rating.id] = open_case(session, rating)
    return [slot if isinstance(slot, IntakeOutcome)
            else _answer(slot[1].data.external_id if isinstance(slot[1], _NewRating) else slot[1].external_id,
                         slot[1].id, lookups.cases.get(slot[1].id), slot[0])
            for slot in slots]


def _store_one(session: Session, key: RatingSource, entry: RatingInput | IntakeOutcome, now: datetime,
               own_transaction: bool = False) -> IntakeOutcome:
    """One rating, all of it (record, rating, case, first task, history) or none of it: in a
    savepoint of the caller's transaction, or with ``own_transaction`` in a transaction of
    its own (begun with the write lock on SQLite; the caller commits it)."""
    if isinstance(entry, IntakeOutcome):
        return entry
    for attempt in (1, 2):
        try:
            if own_transaction:
                begin_write(session)
                return _store_all(session, key, [entry], now)[0]
            with session.begin_nested():
                return _store_all(session, key, [entry], now)[0]
        except IntegrityError:
            # The same rating (or its new service record) arrived at the same moment
            # through another request: look again, the other one has been stored.
            if own_transaction:
                session.rollback()
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def ingest(session: Session, key: RatingSource, raw: Any, now: datetime) -> IntakeOutcome:
    """Check and store one rating (see :func:`_store_one`): in a transaction of its own when
    the session has none open (a request's rating), else in a savepoint of the caller's. A
    rating refused on its own fields is answered without touching the database."""
    entry = _parse(raw, now)
    if isinstance(entry, IntakeOutcome):
        return entry
    return _store_one(session, key, entry, now, own_transaction=not session.in_transaction())


def ingest_batch(session: Session, key: RatingSource, items: list[Any], now: datetime) -> list[IntakeOutcome]:
    """Check and store a batch, each rating answered on its own. The batch is stored in one
    go; if another request stored one of its ratings or records meanwhile, it is stored
    again rating by rating, each in its own savepoint."""
    entries = [_parse(raw, now) for raw in items]
    begin_write(session)
    try:
        with session.begin_nested():
            return _store_all(session, key, entries, now)
    except IntegrityError:
        return [_store_one(session, key, entry, now) for entry in entries]
