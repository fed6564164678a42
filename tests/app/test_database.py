"""SQLite: requests that change data take the write lock when they begin, so concurrent
writers wait for each other instead of failing halfway (503) — reads stay deferred."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from app import migrate
from app.extensions import db

from .conftest import make_app


def test_changing_requests_begin_immediate_on_sqlite(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'lock.sqlite'}", tmp_path, WTF_CSRF_ENABLED=False)
    with app.app_context():
        migrate.upgrade(db.engine)
        engine = db.engine
    begun: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: begun.append(statement) if statement.startswith("BEGIN") else None)
    client = app.test_client()
    client.get("/login")
    assert begun == []  # a page read opens no write transaction
    client.post("/login", data={"username": "nobody", "password": "whatever-1"})
    assert begun == ["BEGIN IMMEDIATE"]
    engine.dispose()


def test_a_request_starts_no_thread_to_close_async_sessions(tmp_path: Path) -> None:
    """The app has no async engine, so Flask-SQLAlchemy-Lite's coroutine teardown (run
    through asgiref, a thread per request) is left out; sessions are still closed."""
    import inspect
    import threading

    app = make_app(f"sqlite:///{tmp_path / 'teardown.sqlite'}", tmp_path)
    assert not any(inspect.iscoroutinefunction(f) for f in app.teardown_appcontext_funcs)
    with app.app_context():
        migrate.upgrade(db.engine)
        engine = db.engine
    started: list[str] = []
    original = threading.Thread.start

    def start(thread: threading.Thread) -> None:
        started.append(thread.name)
        original(thread)

    threading.Thread.start = start  # type: ignore[method-assign]
    try:
        app.test_client().get("/login")
    finally:
        threading.Thread.start = original  # type: ignore[method-assign]
    assert started == []
    assert engine.pool.checkedout() == 0  # the request's session was closed
    engine.dispose()
