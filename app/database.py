"""Per-connection settings of the database engines."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import Engine, event


def configure_engines(app: Flask) -> None:
    """Attach per-connection settings. Creates no connection."""
    from .extensions import db

    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                _configure_sqlite(engine)


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling breaks SAVEPOINT and transactional DDL; take
    # it over as SQLAlchemy's documentation recommends. Transactions are deferred: with
    # WAL, readers never wait for the one writer, and writers wait (busy timeout) for
    # each other. Code that must be the single writer from its first statement (the
    # engine's timer sweep) takes the write lock itself.
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
        connection.exec_driver_sql("BEGIN")
