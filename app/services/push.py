"""Pushing the outbox to the provincial 好差评 system (R11): never lost, never duplicated.

A run takes the pending records that are due, oldest id first, in batches, and POSTs each
batch as ``{"records": [{"id", "kind", "stream", "payload"}, …]}``. The receiver answers
``{"accepted": [ids…]}``; those records become delivered. Anything else — no connection,
a timeout, a non-2xx status, an answer that is not such a list — leaves the batch's records
pending with one more attempt, a short error and an exponential back-off.

Not lost: a record is marked delivered only after the receiver acknowledged it, in the
transaction that claimed it. Not duplicated: a record keeps its id through every retry and
the receiver stores each id once, so a batch sent again after a lost answer changes
nothing there. Order per stream: a record is sent only when every earlier record of its
stream has been delivered or goes out before it in the same batch.

On PostgreSQL each batch's rows are claimed with ``FOR UPDATE SKIP LOCKED`` and held until
its bookkeeping commits, so several pushers never send the same record at once; a record
held by another pusher also holds back the later records of its stream. SQLite has no row
locks: the claiming read ends before the request (a WAL read snapshot held across it could
not turn into a write after another commit), so two pushers there may send a record twice,
which the receiver absorbs.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from apscheduler.schedulers.base import BaseScheduler
from flask import Flask
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from workflows.clock import current_clock

from ..database import database_outage_logged
from ..extensions import db
from ..models import OutboxRecord
from ..models.outbox import DELIVERED, PENDING
from ..sqlite_writes import begin_write

log = logging.getLogger(__name__)

URL_VARIABLE = "HCP_PROVINCE_URL"
# Outbox kinds addressed to the performance-supervision office (效能监督, R9), which has its
# own receiver (HCP_SUPERVISION_URL, same protocol): the provincial push never sends them.
SUPERVISION_KINDS = ("bulletin",)
FIRST_DELAY = timedelta(seconds=5)
MAX_DELAY = timedelta(hours=1)
MAX_ANSWER_BYTES = 1024 * 1024
MAX_ERROR_LENGTH = 200
NOT_ACCEPTED = "not accepted by the receiver"


class PushConfigError(ValueError):
    """The receiver's URL is missing or unusable; the message names HCP_PROVINCE_URL."""


@dataclass
class PushResult:
    delivered: int = 0  # records the receiver acknowledged
    failed: int = 0  # records sent without acknowledgement: retried after their back-off
    skipped: int = 0  # due records not sent: behind an earlier pending record of their
    #                   stream, or left for the next run because the receiver was unreachable
    errors: list[str] = field(default_factory=list)  # one line per failed batch, no payload data


class DeliveryFailed(Exception):
    def __init__(self, reason: str, unreachable: bool) -> None:
        super().__init__(reason)
        self.reason = reason[:MAX_ERROR_LENGTH]
        self.unreachable = unreachable  # no point sending more batches in this run


def province_url(value: str | None, variable: str = URL_VARIABLE) -> str:
    """The receiver's URL, checked: an http(s) URL with a host (errors name ``variable``)."""
    text = (value or "").strip()
    if not text:
        raise PushConfigError(f"{variable} is not set: give the receiving system's URL, "
                              "e.g. https://province.example/api/records (or pass --url)")
    parts = urlsplit(text)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise PushConfigError(f"{variable}: {text!r} has an invalid port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PushConfigError(f"{variable}: {text!r} is not an http(s) URL, "
                              "e.g. https://province.example/api/records")
    return text


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 5 s, 10 s, 20 s … at most 1 hour."""
    return min(FIRST_DELAY * 2 ** min(max(attempts - 1, 0), 20), MAX_DELAY)


def post_batch(url: str, records: Sequence[dict[str, Any]], timeout: float) -> set[int]:
    """POST one batch; the ids the receiver acknowledged, or DeliveryFailed."""
    body = json.dumps({"records": list(records)}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    parts = urlsplit(url)
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = connection_class(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request("POST", target, body=body, headers={
            "Content-Type": "application/json; charset=utf-8", "Accept": "application/json"})
        response = connection.getresponse()
        answer = response.read(MAX_ANSWER_BYTES + 1)
    except TimeoutError:
        raise DeliveryFailed(f"no answer within {timeout:g} s", unreachable=True) from None
    except OSError as error:  # refused, unreachable, TLS …: the reason names no payload data
        raise DeliveryFailed(f"cannot reach the receiver: {type(error).__name__}: {error}", True) from None
    except http.client.HTTPException as error:
        raise DeliveryFailed(f"broken answer: {type(error).__name__}", unreachable=True) from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:  # the body is not quoted: it may echo the batch
        busy = response.status >= 500 or response.status in (408, 429)
        raise DeliveryFailed(f"receiver answered HTTP {response.status}", unreachable=busy)
    return _accepted_ids(answer)


def _accepted_ids(answer: bytes) -> set[int]:
    if len(answer) > MAX_ANSWER_BYTES:
        raise DeliveryFailed("malformed answer: too large", unreachable=False)
    try:
        data = json.loads(answer.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise DeliveryFailed("malformed answer: not JSON", unreachable=False) from None
    accepted = data.get("accepted") if isinstance(data, dict) else None
    if not isinstance(accepted, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in accepted):
        raise DeliveryFailed('malformed answer: no "accepted" list of record ids', unreachable=False)
    return set(accepted)


def push_once(session_factory: Callable[[], Session], url: str, *, batch_size: int = 200,
              timeout: float = 10.0, now: datetime | None = None, supervision: bool = False) -> PushResult:
    """One push run over the records due at ``now`` (default: the engine clock). Each batch
    is claimed, sent and booked in its own transaction. ``supervision`` pushes the records
    for the supervision office (SUPERVISION_KINDS) instead of the provincial ones."""
    url = province_url(url)
    kinds = _kind_filter(supervision)
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    if now is not None and now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    start = now or current_clock().now()
    result = PushResult()
    after = 0  # ids up to here were looked at in this run
    held: set[str] = set()  # streams whose next record did not go out in this run
    while True:
        with session_factory() as session:
            begin_write(session)
            claimed = _claim(session, start, after, batch_size, kinds)
            if not claimed:
                break
            after = claimed[-1].id
            batch, waiting = _in_stream_order(session, claimed, held)
            result.skipped += len(waiting)
            if not batch:
                continue
            wire = [{"id": r.id, "kind": r.kind, "stream": r.stream, "payload": r.payload} for r in batch]
            if not _row_locks(session):
                # SQLite has no row locks to hold; and a read snapshot kept open across the
                # request could not become a write once another writer had committed (WAL).
                session.commit()
            failure: DeliveryFailed | None = None
            try:
                accepted = post_batch(url, wire, timeout)
            except DeliveryFailed as error:
                failure, accepted = error, set()
            moment = now or current_clock().now()
            begin_write(session)  # SQLite: the booking after the request is a transaction of its own
            for record in batch:
                if record.id in accepted:
                    record.status, record.delivered_at = DELIVERED, moment
                    result.delivered += 1
                else:
                    record.attempts += 1
                    record.last_error = failure.reason if failure else NOT_ACCEPTED
                    record.next_attempt_at = moment + backoff(record.attempts)
                    held.add(record.stream)
                    result.failed += 1
            session.commit()
            missing = len(batch) - len(accepted & {r.id for r in batch})
            if missing:
                reason = failure.reason if failure else NOT_ACCEPTED
                result.errors.append(f"{missing} of {len(batch)} records not delivered: {reason}")
                log.warning("province push: %s of %s records not delivered: %s", missing, len(batch), reason)
            if failure is not None and failure.unreachable:
                result.skipped += _due_count(session, start, after, kinds)
                break
    return result


def _kind_filter(supervision: bool) -> ColumnElement[bool]:
    if supervision:
        return OutboxRecord.kind.in_(SUPERVISION_KINDS)
    return OutboxRecord.kind.not_in(SUPERVISION_KINDS)


def _claim(session: Session, start: datetime, after: int, limit: int,
           kinds: ColumnElement[bool]) -> list[OutboxRecord]:
    query = (select(OutboxRecord)
             .where(OutboxRecord.status == PENDING, OutboxRecord.next_attempt_at <= start,
                    OutboxRecord.id > after, kinds)
             .order_by(OutboxRecord.id).limit(limit))
    if _row_locks(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def _row_locks(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _in_stream_order(session: Session, claimed: list[OutboxRecord],
                     held: set[str]) -> tuple[list[OutboxRecord], list[OutboxRecord]]:
    """Split the claimed records into those that may go out now, in id order, and those
    that wait: a record goes only when each earlier pending record of its stream goes
    before it in this batch. Earlier pending records not claimed here (in back-off, or
    held by another pusher) hold their stream back; ``held`` collects such streams."""
    streams = {r.stream for r in claimed} - held
    pending: dict[str, deque[int]] = {stream: deque() for stream in streams}
    if streams:
        rows = session.execute(select(OutboxRecord.stream, OutboxRecord.id)
                               .where(OutboxRecord.status == PENDING, OutboxRecord.stream.in_(streams),
                                      OutboxRecord.id <= claimed[-1].id)
                               .order_by(OutboxRecord.id))
        for stream, record_id in rows:
            pending[stream].append(record_id)
    batch: list[OutboxRecord] = []
    waiting: list[OutboxRecord] = []
    for record in claimed:
        queue = pending.get(record.stream)
        if record.stream not in held and queue and queue[0] == record.id:
            queue.popleft()
            batch.append(record)
        else:
            held.add(record.stream)
            waiting.append(record)
    return batch, waiting


def _due_count(session: Session, start: datetime, after: int, kinds: ColumnElement[bool]) -> int:
    return session.scalar(select(func.count()).select_from(OutboxRecord)
                          .where(OutboxRecord.status == PENDING, OutboxRecord.next_attempt_at <= start,
                                 OutboxRecord.id > after, kinds)) or 0


def schedule_push(app: Flask, scheduler: BaseScheduler, interval: int, url: str | None = None) -> bool:
    """Push every ``interval`` seconds under ``scheduler`` to ``url`` (default
    HCP_PROVINCE_URL). Without a URL nothing is scheduled (records wait in the outbox) and
    False is returned; a URL that is set but unusable raises PushConfigError."""
    value = url if url is not None else os.environ.get(URL_VARIABLE)
    if not value:
        log.warning("%s is not set: outbox records are not pushed to the provincial system", URL_VARIABLE)
        return False
    target = province_url(value)

    def job() -> None:
        result = None
        with app.app_context(), database_outage_logged("province push", log):
            result = push_once(db.sessionmaker, target)
        if result is None:
            return
        if result.delivered or result.failed:
            log.info("province push: %s delivered, %s failed, %s waiting", result.delivered, result.failed,
                     result.skipped)

    # One push at a time per process; pushers in other processes claim other rows.
    scheduler.add_job(job, "interval", seconds=interval, id="province-push", max_instances=1,
                      coalesce=True, replace_existing=True)
    return True
