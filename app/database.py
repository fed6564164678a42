"""Per-connection settings of the database engines."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session


def configure_engines(app: Flask) -> None:
    """Attach per-connection settings. Creates no connection."""
    from .extensions import db

    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL; take
    # it over as SQLAlchemy's documentation recommends. Transactions are deferred unless
    # the connection asks for IMMEDIATE (see write_lock_for_changing_requests): with WAL,
    # readers never wait for the one writer.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA busy_timeout = 30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN " + connection.get_execution_options().get(SQLITE_BEGIN, "DEFERRED"))


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
        begin_write(db.session)


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


_UNAVAILABLE: set[str] = set()  # scheduled jobs that found the database unreachable


@contextmanager
def database_outage_logged(job: str, logger: logging.Logger) -> Iterator[None]:
    """Around one run of a scheduled job (sweep, push): an unreachable database ends the run
    with one warning when the outage begins and one line when it is over, instead of a
    traceback every few seconds; the next run tries again (the pool pings its connections).
    Any other error propagates."""
    try:
        yield
    except DBAPIError as error:
        if not (error.connection_invalidated or isinstance(error, OperationalError)):
            raise
        if job not in _UNAVAILABLE:
            _UNAVAILABLE.add(job)
            reason = str(error.orig).strip().splitlines()[0][:200] if error.orig else type(error).__name__
            logger.warning("%s: database unavailable (%s); trying again at every run", job, reason)
        return
    if job in _UNAVAILABLE:
        _UNAVAILABLE.discard(job)
        logger.warning("%s: database reachable again", job)
