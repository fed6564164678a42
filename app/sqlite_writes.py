"""SQLite's one writer. A transaction that reads and then writes fails at its first write
("database is locked", whatever the busy timeout) when another process committed in
between, so writers begin with the write lock (BEGIN IMMEDIATE): changing web requests by
themselves, other writers through :func:`begin_write`. With WAL, readers never wait.
PostgreSQL needs none of this."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask
from sqlalchemy import Connection, Engine, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session


def configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL; take
    # it over as SQLAlchemy's documentation recommends. Transactions are deferred unless
    # the connection asks for IMMEDIATE (see write_lock_for_changing_requests): with WAL,
    # readers never wait for the one writer.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(SQLITE_BEGIN) == "IMMEDIATE":
            _begin_immediate(connection)
        else:
            connection.exec_driver_sql("BEGIN DEFERRED")


BUSY_TIMEOUT_MS = 30_000
FIRST_PAUSE, LONGEST_PAUSE = 0.000_05, 0.001  # seconds between attempts at the write lock


def _begin_immediate(connection: Connection) -> None:
    """BEGIN IMMEDIATE, waiting for the other writer up to the busy timeout. SQLite's own
    busy handler sleeps 1, 2, 5, 10, 15 … ms between attempts: long beside a writer that
    holds the lock for a millisecond (rating intake), so two busy processes would spend a
    quarter of their time asleep. Here the pauses begin at 50 µs and grow to 1 ms."""
    driver = connection.connection.driver_connection  # the pragmas straight to sqlite3: no events to tell
    driver.execute("PRAGMA busy_timeout = 0")
    try:
        deadline, pause = time.monotonic() + BUSY_TIMEOUT_MS / 1000, FIRST_PAUSE
        while True:
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
                return
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() >= deadline:
                    raise
            time.sleep(pause)
            pause = min(2 * pause, LONGEST_PAUSE)
    finally:
        driver.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")


F = TypeVar("F", bound=Callable[..., Any])
SQLITE_BEGIN = "sqlite_begin"
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def write_lock_for_changing_requests(app: Flask) -> None:
    """On SQLite a request that changes data takes the one write lock when its transaction
    begins (BEGIN IMMEDIATE), so it waits for the other writer (busy timeout) instead of
    failing halfway when that writer committed after it had read. Reads stay deferred."""
    from flask import request

    from .extensions import db

    @app.before_request
    def _immediate() -> None:
        if request.method in READ_ONLY_METHODS or db.engine.dialect.name != "sqlite":
            return
        if getattr(app.view_functions.get(request.endpoint or ""), _OWN_WRITE_LOCK, False):
            return
        begin_write(db.session)


_OWN_WRITE_LOCK = "hcp_begins_write_itself"


def begins_write_itself(view: F) -> F:
    """Marks a view that changes data but takes the SQLite write lock itself, through a
    service that reads and checks first and calls :func:`begin_write` just before it writes
    (rating intake): the one write lock is then held only while writing, not while the
    request is authenticated, parsed and answered. Whatever the view reads before must end
    its transaction first, or the write lock cannot be taken."""
    setattr(view, _OWN_WRITE_LOCK, True)
    return view


def begin_write(session: Session) -> None:
    """On SQLite, begin the session's transaction with the write lock (BEGIN IMMEDIATE): a
    transaction that reads and then writes would fail at its first write ("database is
    locked", whatever the busy timeout) when another process committed in between. Does
    nothing on PostgreSQL, or when the transaction has begun already (also a session joined
    to an outer transaction, as in the tests: only one that opens its own connection can
    choose how it begins). Web requests that change data begin so by themselves; writers
    outside a request (intake from the CLI, push, notification delivery) call this."""
    bind = session.get_bind()
    if bind.dialect.name == "sqlite" and isinstance(bind, Engine) and not session.in_transaction():
        session.connection(execution_options={SQLITE_BEGIN: "IMMEDIATE"})
