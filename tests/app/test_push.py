"""R11: the push to the provincial 好差评 system — never lost, never duplicated, in order per
stream — against the province stub running on a loopback port. Time is moved by hand."""

from __future__ import annotations

import io
import json
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session
from werkzeug.test import Client

from app import migrate
from app.cli.push import province_stub_command, push_command, register
from app.extensions import db
from app.models import OutboxRecord
from app.province_stub import RECORDS_PATH, ProvinceStub, make_stub_server
from app.services.push import PushConfigError, backoff, province_url, push_once, schedule_push
from workflows.clock import ManualClock, using_clock

from ..db_support import fresh_database, on_postgres
from .conftest import make_app

T0 = datetime(2026, 10, 9, 2, 0, tzinfo=timezone.utc)
SECRET = "张三-13812345678"  # payload data that must never appear in last_error
Wsgi = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def add(session: Session, stream: str, *, due: datetime = T0, attempts: int = 0) -> int:
    record = OutboxRecord(kind="case_milestone", stream=stream, payload={"caseNo": stream, "evaluator": SECRET},
                          next_attempt_at=due, attempts=attempts, created_at=T0)
    session.add(record)
    session.flush()
    return record.id


def rows(session: Session) -> dict[int, OutboxRecord]:
    session.commit()  # ends the session's read snapshot (SQLite WAL)
    session.expire_all()
    return {r.id: r for r in session.scalars(select(OutboxRecord).order_by(OutboxRecord.id))}


def assert_in_order_per_stream(stored: list[dict[str, Any]]) -> None:
    by_stream: dict[str, list[int]] = {}
    for record in sorted(stored, key=lambda r: r["seq"]):
        by_stream.setdefault(record["stream"], []).append(record["id"])
    for stream, ids in by_stream.items():
        assert ids == sorted(ids), f"{stream} arrived out of order: {ids}"


@contextmanager
def serving(application: Wsgi, port: int = 0) -> Iterator[str]:
    """``application`` on a loopback port, in a thread; yields the receiving URL."""
    server = make_stub_server(application, port)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.port}{RECORDS_PATH}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def closed_port() -> Iterator[str]:
    """A URL on a port that is bound but not listening: every connection is refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}{RECORDS_PATH}"
    finally:
        sock.close()


class Interceptor:
    """Wraps the stub: ``rule(ids)`` gives an answer for a batch — "pass", "refuse" (400,
    nothing stored), "ignore" (200, nothing accepted), "lose" (stored, then 500) or raw
    ``(status, body)`` — and records the ids of every batch that arrived on the wire."""

    def __init__(self, stub: ProvinceStub, rule: Callable[[list[int]], Any] = lambda ids: "pass") -> None:
        self.stub, self.rule, self.batches = stub, rule, []

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] != "POST":
            return self.stub(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        ids = [r["id"] for r in json.loads(body)["records"]]
        self.batches.append(ids)
        action = self.rule(ids)
        if action == "refuse":
            return self._answer(start_response, 400, b'{"error": "refused"}')
        if action == "ignore":
            return self._answer(start_response, 200, b'{"accepted": []}')
        if isinstance(action, tuple):
            return self._answer(start_response, *action)
        environ["wsgi.input"] = io.BytesIO(body)
        answer = b"".join(self.stub(environ, lambda status, headers, exc_info=None: None))
        if action == "lose":
            return self._answer(start_response, 500, b"Internal Server Error")
        return self._answer(start_response, 200, answer)

    @staticmethod
    def _answer(start_response: Callable[..., Any], status: int, body: bytes) -> list[bytes]:
        start_response(f"{status} X", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


@pytest.fixture
def outbox(session: Session) -> Session:
    """The test's transaction with an empty outbox (rolled back at the end)."""
    session.execute(delete(OutboxRecord))
    return session


@pytest.fixture
def stub(tmp_path: Path) -> ProvinceStub:
    return ProvinceStub(tmp_path / "province.sqlite")


# --- every pending record delivered once, in order per stream -------------------------------------

def test_every_due_record_is_delivered_once_in_order_per_stream(outbox: Session, stub: ProvinceStub) -> None:
    streams = ("case:A", "case:B", "rating:1", "case:A", "case:B", "case:A", "rating:2")
    ids = [add(outbox, stream) for stream in streams]
    later = add(outbox, "case:C", due=T0 + timedelta(seconds=1))
    outbox.commit()
    with serving(stub) as url:
        result = push_once(db.sessionmaker, url, batch_size=3, now=T0)
        again = push_once(db.sessionmaker, url, batch_size=3, now=T0)
    assert (result.delivered, result.failed, result.skipped) == (7, 0, 0)
    assert (again.delivered, again.failed) == (0, 0), "delivered records are never sent again"
    stored = stub.records()
    assert [r["id"] for r in stored] == ids and all(r["repeats"] == 0 for r in stored)
    assert stored[0]["payload"] == {"caseNo": "case:A", "evaluator": SECRET}
    assert_in_order_per_stream(stored)
    state = rows(outbox)
    assert all(state[i].status == "delivered" and state[i].delivered_at == T0 and state[i].attempts == 0 for i in ids)
    assert state[later].status == "pending" and state[later].delivered_at is None


def test_a_record_waits_while_an_earlier_one_of_its_stream_is_in_back_off(outbox: Session, stub: ProvinceStub) -> None:
    first = add(outbox, "case:A", due=T0 + timedelta(seconds=5), attempts=1)
    second, other = add(outbox, "case:A"), add(outbox, "case:B")
    outbox.commit()
    with serving(stub) as url:
        result = push_once(db.sessionmaker, url, now=T0)
        assert (result.delivered, result.failed, result.skipped) == (1, 0, 1)
        assert [r["id"] for r in stub.records()] == [other]
        assert rows(outbox)[second].attempts == 0, "a waiting record was not tried"
        push_once(db.sessionmaker, url, now=T0 + timedelta(seconds=5))
    assert [r["id"] for r in stub.records()] == [other, first, second]


@pytest.mark.parametrize("refusal", ["refuse", "ignore"])
def test_order_per_stream_holds_when_an_earlier_record_fails(outbox: Session, stub: ProvinceStub,
                                                             refusal: str) -> None:
    a1, b1, a2, b2 = (add(outbox, stream) for stream in ("case:A", "case:B", "case:A", "case:B"))
    outbox.commit()
    refusing = {a1}
    receiver = Interceptor(stub, lambda ids: refusal if refusing & set(ids) else "pass")
    with serving(receiver) as url:
        result = push_once(db.sessionmaker, url, batch_size=1, now=T0)
        assert (result.delivered, result.failed, result.skipped) == (2, 1, 1)
        assert receiver.batches == [[a1], [b1], [b2]], "a2 waits behind the failed a1"
        state = rows(outbox)
        assert state[a1].attempts == 1 and state[a1].next_attempt_at == T0 + timedelta(seconds=5)
        assert state[a2].status == "pending" and state[a2].attempts == 0
        refusing.clear()
        retry = push_once(db.sessionmaker, url, batch_size=1, now=T0 + timedelta(seconds=5))
    assert (retry.delivered, retry.failed) == (2, 0)
    assert [r["id"] for r in stub.records()] == [b1, b2, a1, a2]
    assert_in_order_per_stream(stub.records())


@pytest.mark.parametrize(("answer", "error"), [
    ((200, b"<html>ok</html>"), "malformed answer: not JSON"),
    ((200, b'{"accepted": "all"}'), 'malformed answer: no "accepted" list of record ids'),
    ((200, b'{"accepted": [true]}'), 'malformed answer: no "accepted" list of record ids'),
    ((302, b""), "receiver answered HTTP 302"),
    ((404, b'{"echo": "' + SECRET.encode() + b'"}'), "receiver answered HTTP 404"),
])
def test_a_bad_answer_leaves_the_batch_pending(outbox: Session, stub: ProvinceStub,
                                               answer: tuple[int, bytes], error: str) -> None:
    record = add(outbox, "case:A")
    outbox.commit()
    with serving(Interceptor(stub, lambda ids: answer)) as url:
        result = push_once(db.sessionmaker, url, now=T0)
    assert (result.delivered, result.failed) == (0, 1) and error in result.errors[0]
    state = rows(outbox)[record]
    assert (state.status, state.attempts, state.last_error) == ("pending", 1, error)


def test_backoff_doubles_from_five_seconds_up_to_an_hour() -> None:
    assert [backoff(n).total_seconds() for n in range(1, 6)] == [5, 10, 20, 40, 80]
    assert backoff(10) == timedelta(seconds=2560)
    assert backoff(11) == backoff(1000) == timedelta(hours=1)


@pytest.mark.parametrize("value", [None, "", "  ", "ftp://province.example/api", "province.example/api",
                                   "http:///api/records", "http://host:99999/api"])
def test_an_unusable_url_is_refused_naming_the_variable(value: str | None) -> None:
    with pytest.raises(PushConfigError, match="HCP_PROVINCE_URL"):
        province_url(value)


# --- the receiver's view: exactly once ----------------------------------------------------------

@contextmanager
def committed_database(tmp_path: Path) -> Iterator[Flask]:
    """A database of its own, where the pusher's commits are real."""
    with fresh_database(tmp_path) as url:
        application = make_app(url, tmp_path / "instance")
        with application.app_context():
            migrate.upgrade(db.engine)
        try:
            yield application
        finally:
            with application.app_context():
                db.engine.dispose()


def test_an_outage_delays_and_nothing_is_lost_or_doubled(tmp_path: Path) -> None:
    stub = ProvinceStub(tmp_path / "province.sqlite")
    with committed_database(tmp_path) as application, application.app_context():
        ids = [add(db.session, stream) for stream in ("case:A", "rating:7", "case:A", "case:B", "case:A")]
        db.session.commit()
        with serving(stub) as url:
            port = urlsplit(url).port or 0
        # The receiver is down: refused connections, attempts and back-off grow.
        first = push_once(db.sessionmaker, url, batch_size=2, now=T0)
        assert (first.delivered, first.failed, first.skipped) == (0, 2, 3), "one batch, then the run stops"
        assert "ConnectionRefusedError" in first.errors[0]
        early = push_once(db.sessionmaker, url, batch_size=2, now=T0 + timedelta(seconds=4))
        assert (early.delivered, early.failed, early.skipped) == (0, 1, 2), "a2 waits behind a1's back-off"
        second = push_once(db.sessionmaker, url, batch_size=10, now=T0 + timedelta(seconds=5))
        assert (second.failed, second.skipped) == (4, 0), "b waits for its own back-off"
        state = rows(db.session)
        assert [state[i].attempts for i in ids] == [2, 2, 1, 1, 1]
        assert state[ids[0]].next_attempt_at == T0 + timedelta(seconds=15), "5 s, then 10 s"
        for record in state.values():
            assert record.last_error and "refused" in record.last_error.lower()
            assert SECRET not in record.last_error and "case:" not in record.last_error
            assert record.delivered_at is None
        assert stub.records() == []
        # Back up on the same port, time moved past every back-off: each record once, in order.
        with serving(stub, port) as url_again:
            assert url_again == url
            final = push_once(db.sessionmaker, url, batch_size=2, now=T0 + timedelta(minutes=1))
            assert (final.delivered, final.failed, final.skipped) == (5, 0, 0)
            assert push_once(db.sessionmaker, url, now=T0 + timedelta(hours=2)).delivered == 0
        stored = stub.records()
        assert sorted(r["id"] for r in stored) == ids and all(r["repeats"] == 0 for r in stored)
        assert_in_order_per_stream(stored)
        state = rows(db.session)
        assert all(r.status == "delivered" and r.delivered_at == T0 + timedelta(minutes=1) for r in state.values())


def test_a_batch_retried_after_a_lost_answer_is_stored_once(tmp_path: Path) -> None:
    stub = ProvinceStub(tmp_path / "province.sqlite")
    answers = iter(["lose"])
    receiver = Interceptor(stub, lambda ids: next(answers, "pass"))
    with committed_database(tmp_path) as application, application.app_context():
        ids = [add(db.session, "case:A"), add(db.session, "rating:9")]
        db.session.commit()
        with serving(receiver) as url:
            lost = push_once(db.sessionmaker, url, now=T0)
            assert (lost.delivered, lost.failed) == (0, 2) and "HTTP 500" in lost.errors[0]
            assert [r["id"] for r in stub.records()] == ids, "the receiver stored the batch"
            retried = push_once(db.sessionmaker, url, now=T0 + timedelta(seconds=5))
        assert (retried.delivered, retried.failed) == (2, 0)
        assert receiver.batches == [ids, ids], "the same record ids went out again"
        assert [(r["id"], r["repeats"]) for r in stub.records()] == [(ids[0], 1), (ids[1], 1)]
        assert all(r.status == "delivered" for r in rows(db.session).values())


@pytest.mark.skipif(not on_postgres(), reason="row locks (SKIP LOCKED) need PostgreSQL")
def test_two_pushers_at_once_never_send_the_same_record(tmp_path: Path) -> None:
    stub = ProvinceStub(tmp_path / "province.sqlite")
    arrived, release = threading.Event(), threading.Event()
    first_call = threading.Lock()

    def rule(ids: list[int]) -> str:
        if first_call.acquire(blocking=False):  # the first pusher's first batch stalls
            arrived.set()
            assert release.wait(timeout=30)
        return "pass"

    receiver = Interceptor(stub, rule)
    with committed_database(tmp_path) as application, application.app_context():
        a1, b1, a2, c1 = (add(db.session, stream) for stream in ("case:A", "case:B", "case:A", "case:C"))
        db.session.commit()
        with serving(receiver) as url:
            slow: list[Any] = []
            factory = db.sessionmaker
            thread = threading.Thread(target=lambda: slow.append(push_once(factory, url, batch_size=2, now=T0)))
            thread.start()
            assert arrived.wait(timeout=30), "the first pusher holds a1 and b1"
            other = push_once(db.sessionmaker, url, batch_size=10, now=T0)
            release.set()
            thread.join(timeout=30)
        assert (other.delivered, other.skipped) == (1, 1), "c1 sent; a2 waits behind the held a1"
        assert (slow[0].delivered, slow[0].failed) == (3, 0)
        assert receiver.batches == [[a1, b1], [c1], [a2]]
        assert all(r["repeats"] == 0 for r in stub.records())
        assert_in_order_per_stream(stub.records())


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(streams=st.lists(st.sampled_from(["case:A", "case:B", "rating:1", "rating:2"]), min_size=1, max_size=12),
       plan=st.lists(st.sampled_from(["pass", "refuse", "ignore", "lose", (503, b"")]), max_size=8),
       batch_size=st.integers(1, 5))
def test_any_mix_of_failures_ends_with_each_record_once_in_order(
        outbox: Session, tmp_path_factory: pytest.TempPathFactory, streams: list[str], plan: list[Any],
        batch_size: int) -> None:
    outbox.execute(delete(OutboxRecord))
    ids = [add(outbox, stream) for stream in streams]
    outbox.commit()
    stub = ProvinceStub(tmp_path_factory.mktemp("stub") / "province.sqlite")
    answers = iter(plan)
    with serving(Interceptor(stub, lambda _ids: next(answers, "pass"))) as url:
        for run in range(len(plan) + 2):
            push_once(db.sessionmaker, url, batch_size=batch_size, now=T0 + run * timedelta(hours=2))
    stored = stub.records()
    assert sorted(r["id"] for r in stored) == ids
    assert_in_order_per_stream(stored)
    assert all(r.status == "delivered" for r in rows(outbox).values())


# --- the stub -----------------------------------------------------------------------------------

def test_the_stub_stores_each_id_once_and_refuses_bad_batches(stub: ProvinceStub) -> None:
    client = Client(stub)
    batch = {"records": [{"id": 3, "kind": "evaluation", "stream": "rating:1", "payload": {"satisfaction": 1}},
                         {"id": 3, "kind": "evaluation", "stream": "rating:1", "payload": {"satisfaction": 1}}]}
    assert client.post(RECORDS_PATH, json=batch).json == {"accepted": [3, 3]}
    assert client.post(RECORDS_PATH, json={"records": [{"id": 3, "kind": "x", "stream": "y"}]}).status_code == 400
    good = {"id": 4, "kind": "evaluation", "stream": "rating:2", "payload": {}}
    bad = client.post(RECORDS_PATH, json={"records": [good, {**good, "id": "5"}]})
    assert bad.status_code == 400 and "第2条记录" in bad.json["error"]
    assert client.post(RECORDS_PATH, data=b"\xff").status_code == 400
    listed = client.get(RECORDS_PATH).json["records"]
    assert [(r["id"], r["repeats"], r["payload"]) for r in listed] == [(3, 1, {"satisfaction": 1})]
    assert client.put(RECORDS_PATH).status_code == 405 and client.get("/").status_code == 404


# --- the commands -------------------------------------------------------------------------------

def test_push_without_a_url_is_one_line_naming_the_variable(app: Flask, outbox: Session,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "PROVINCE_URL", None)  # HCP_PROVINCE_URL not set
    result = app.test_cli_runner().invoke(push_command, ["--once"])
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: HCP_PROVINCE_URL is not set")
    # A bad HCP_PROVINCE_URL stops start-up (app/config.py); a bad --url is refused here.
    bad = app.test_cli_runner().invoke(push_command, ["--once", "--url", "ftp://province.example/"])
    assert bad.exit_code == 2 and "HCP_PROVINCE_URL: 'ftp://province.example/' is not an http(s) URL" in bad.stderr


def test_push_once_reports_and_fails_with_status_1(app: Flask, outbox: Session, stub: ProvinceStub,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    add(outbox, "case:A", due=datetime.now(timezone.utc) - timedelta(minutes=1))
    outbox.commit()
    with closed_port() as down:
        failed = app.test_cli_runner().invoke(push_command, ["--once", "--url", down])
    assert failed.exit_code == 1 and failed.stdout == "delivered 0 records, 1 failed\n"
    assert failed.stderr.startswith("error: 1 of 1 records not delivered: cannot reach the receiver")
    outbox.execute(update(OutboxRecord).values(next_attempt_at=datetime.now(timezone.utc) - timedelta(minutes=1)))
    outbox.commit()
    with serving(stub) as url:
        monkeypatch.setitem(app.config, "PROVINCE_URL", url)
        done = app.test_cli_runner().invoke(push_command, ["--once"])
    assert done.exit_code == 0 and done.stdout == "delivered 1 records, 0 failed\n"


def test_province_stub_on_a_busy_port_is_one_line(app: Flask, tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = app.test_cli_runner().invoke(province_stub_command,
                                              ["--port", str(port), "--db", str(tmp_path / "s.sqlite")])
    assert result.exit_code == 2 and result.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_register_adds_both_commands() -> None:
    bare = Flask("bare")
    register(bare)
    assert {"push", "province-stub"} <= set(bare.cli.commands)


def test_the_worker_schedules_the_push_only_with_a_url(app: Flask, outbox: Session, stub: ProvinceStub,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HCP_PROVINCE_URL", raising=False)
    scheduler = BackgroundScheduler(timezone="UTC")
    assert schedule_push(app, scheduler, 5) is False and scheduler.get_jobs() == []
    with pytest.raises(PushConfigError, match="HCP_PROVINCE_URL"):
        schedule_push(app, scheduler, 5, url="mailto:province@example.org")
    record = add(outbox, "case:A")
    outbox.commit()
    with serving(stub) as url:
        monkeypatch.setenv("HCP_PROVINCE_URL", url)
        assert schedule_push(app, scheduler, 5) is True
        job = scheduler.get_job("province-push")
        assert job is not None and job.trigger.interval == timedelta(seconds=5)
        with using_clock(ManualClock(T0)):
            job.func()
    assert [r["id"] for r in stub.records()] == [record]
