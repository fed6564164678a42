"""SQLite has one writer, and a transaction that read before it writes cannot write once
another process has committed in between ("database is locked", whatever the busy timeout).
Writers outside a web request — intake from the CLI or a script, the push — therefore begin
with the write lock (``app.database.begin_write``), as changing web requests do."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, make_url, select, update
from sqlalchemy.exc import OperationalError

from app import migrate
from app.database import begin_write
from app.extensions import db
from app.models import ApiKey, ServiceItem
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
