"""The database engines' settings (SQLite's write lock: :mod:`app.sqlite_writes`), and what
scheduled jobs do when the database is out of reach."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy.exc import DBAPIError, OperationalError

from .sqlite_writes import configure_sqlite


def configure_engines(app: Flask) -> None:
    """Attach per-connection settings. Creates no connection."""
    from .extensions import db

    _drop_async_teardown(app)
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                configure_sqlite(engine)


def _drop_async_teardown(app: Flask) -> None:
    """Flask-SQLAlchemy-Lite registers a coroutine that closes async sessions when the app
    context ends; Flask runs a coroutine teardown through asgiref, which starts a thread on
    every request (about half a millisecond each). This app configures no async engine, so
    there is never an async session to close: leave the coroutine out."""
    if app.config.get("SQLALCHEMY_ASYNC_ENGINES"):
        return
    app.teardown_appcontext_funcs[:] = [
        func for func in app.teardown_appcontext_funcs if not inspect.iscoroutinefunction(func)]


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
