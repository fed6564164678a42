"""SQLite has one writer, and a transaction that read before it writes cannot write once
another process has committed in between ("database is locked", whatever the busy timeout).
Writers outside a web request — intake from the CLI or a script, the push — therefore begin
with the write lock (``app.sqlite_writes.begin_write``), as changing web requests do."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, make_url, select, update
from sqlalchemy.exc import OperationalError

from app import migrate
from app.sqlite_writes import begin_write
from app.extensions import db
from app.models import ApiKey, Channel, ServiceItem
from app.services.api_keys import create_key
from app.services.intake import ingest, ingest_batch
from app.services.push import push_once

from ..db_support import fresh_database, on_postgres
from . import factories
from .conftest import make_app

pytestmark = pytest.mark.skipif(on_postgres(), reason="SQLite's single writer")


@pytest.fixture
def app_on_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    with fresh_database(tmp_path) as url:
        app = make_app(url, tmp_path / "instance")
        with app.app_context():
            migrate.upgrade(db.engine)
            dept, _key = factories.intake_source(db.session, "script")
            yield app, make_url(url).database, dept.credit_code
            db.engine.dispose()


def other_writer(path: str) -> sqlite3.Connection:
    """Another process's connection, which will not wait for the lock."""
    return sqlite3.connect(path, timeout=0, isolation_level=None)


def test_a_transaction_that_read_first_cannot_write_after_another_commit(app_on_file) -> None:  # type: ignore[no-untyped-def]
    app, path, _code = app_on_file
    with app.app_context(), db.sessionmaker() as session:
        session.scalar(select(ServiceItem.id))  # a deferred transaction with a read snapshot
        other_writer(path).execute("UPDATE service_item SET name = name || '·'")
        with pytest.raises(OperationalError, match="locked"):
            session.execute(update(ServiceItem).values(name=ServiceItem.name))


def test_begin_write_takes_the_lock_first_so_the_write_cannot_fail(app_on_file) -> None:  # type: ignore[no-untyped-def]
    app, path, _code = app_on_file
    with app.app_context(), db.sessionmaker() as session:
        begin_write(session)
        session.scalar(select(ServiceItem.id))
        with pytest.raises(sqlite3.OperationalError, match="locked"):  # the other writer must wait
            other_writer(path).execute("UPDATE service_item SET name = name || '·'")
        session.execute(update(ServiceItem).values(name=ServiceItem.name))
        session.commit()
    other_writer(path).execute("UPDATE service_item SET name = name || '·'")  # and may go on afterwards


def test_intake_and_push_outside_a_request_begin_with_the_write_lock(app_on_file) -> None:  # type: ignore[no-untyped-def]
    app, _path, code = app_on_file
    begins: list[str] = []
    now = datetime.now(timezone.utc)
    body = {"id": "s-1", "service_record_no": "R-1", "service_item_code": "YB-1", "department_code": code,
            "channel": "web_portal", "level": "满意", "evaluated_at": (now - timedelta(minutes=1)).isoformat()}
    with app.app_context():
        def seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
            if statement.startswith("BEGIN"):
                begins.append(statement)
        event.listen(db.engine, "before_cursor_execute", seen)
        with db.sessionmaker() as session:
            key = session.scalars(select(ApiKey)).one()
            session.commit()
            begins.clear()
            assert ingest(session, key, body, now).status == "created"
            session.commit()
            assert begins == ["BEGIN IMMEDIATE"]
            begins.clear()
            outcomes = ingest_batch(session, key, [{**body, "id": "s-2", "service_record_no": "R-2"}], now)
            assert [o.status for o in outcomes] == ["created"]
            session.commit()
            assert begins == ["BEGIN IMMEDIATE"]
        begins.clear()
        result = push_once(db.sessionmaker, "http://127.0.0.1:9/records", timeout=1, now=now + timedelta(minutes=1))
        # the claim and the booking begin with the lock; what follows only counts what is left
        assert result.failed == 2 and begins[:2] == ["BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]


def test_the_api_holds_the_write_lock_only_to_store_the_ratings(app_on_file) -> None:  # type: ignore[no-untyped-def]
    """The key check is a read of its own and the rating's transaction begins afresh with
    the write lock, so another process may write in between without failing the request
    (the key's last use, once a minute, is a short write of its own)."""
    app, path, code = app_on_file
    now = datetime.now(timezone.utc)
    with app.app_context():
        with db.sessionmaker() as session:
            _key, token = create_key(session, "api-lock", Channel.WEB_PORTAL, "admin", now)
            session.commit()
        begins: list[str] = []
        meddled: list[bool] = []

        def seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
            if statement.startswith("BEGIN"):
                begins.append(statement)

        def meddle(_conn) -> None:  # type: ignore[no-untyped-def]
            if not meddled:  # when the key check ends: another process commits a write
                meddled.append(True)
                other_writer(path).execute("UPDATE service_item SET name = name || '·'")

        event.listen(db.engine, "before_cursor_execute", seen)
        event.listen(db.engine, "commit", meddle)
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    body = {"id": "w-1", "service_record_no": "W-1", "service_item_code": "YB-1", "department_code": code,
            "channel": "web_portal", "level": "满意", "evaluated_at": (now - timedelta(minutes=1)).isoformat()}
    assert client.post("/api/v1/evaluations", json=body, headers=headers).status_code == 201
    assert meddled and begins == ["BEGIN DEFERRED", "BEGIN IMMEDIATE", "BEGIN IMMEDIATE"]  # check, last use, rating
    begins.clear()
    response = client.post("/api/v1/evaluations", json={**body, "id": "w-2", "service_record_no": "W-2"},
                           headers=headers)
    assert response.status_code == 201 and begins == ["BEGIN IMMEDIATE"]  # the key is remembered for a second
    begins.clear()
    response = client.post("/api/v1/evaluations", json={**body, "id": "w-3", "level": 9}, headers=headers)
    assert response.status_code == 422 and begins == []  # refused without the database
    with app.app_context():
        assert db.session.scalar(select(ApiKey.last_used_at).where(ApiKey.name == "api-lock")) is not None


def test_a_writer_waiting_for_the_lock_gets_it_as_soon_as_it_is_free(app_on_file, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """begin_write tries again after short pauses instead of SQLite's sleeps of 1, 2, 5 …
    ms; here the other writer commits when the third attempt has failed."""
    app, path, _code = app_on_file
    holder = other_writer(path)
    holder.execute("BEGIN IMMEDIATE")
    attempts: list[str] = []

    def seen(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        if statement == "BEGIN IMMEDIATE":
            attempts.append(statement)
            if len(attempts) == 4:
                holder.execute("COMMIT")

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", seen)
        with db.sessionmaker() as session:
            begin_write(session)
            session.execute(update(ServiceItem).values(name=ServiceItem.name))
            session.commit()
            assert len(attempts) == 4
            assert session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000  # restored


def test_a_writer_gives_up_after_the_busy_timeout(app_on_file, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import app.sqlite_writes as database

    app, path, _code = app_on_file
    holder = other_writer(path)
    holder.execute("BEGIN IMMEDIATE")
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 20)
    with app.app_context(), db.sessionmaker() as session:
        with pytest.raises(OperationalError, match="locked"):
            begin_write(session)
        session.rollback()
        holder.execute("COMMIT")
        assert session.connection().exec_driver_sql("PRAGMA busy_timeout").scalar() == 20
