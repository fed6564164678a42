"""Fixtures for tests that need the application and a database.

One database per test run, built by the migrations: a temporary SQLite file, or — when
``HCP_TEST_DATABASE_URL`` is set — a new PostgreSQL database created next to the one it
names and dropped at the end. Each test runs inside a transaction rolled back at its end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app, migrate
from app.extensions import db
from workflows.clock import ManualClock, using_clock

from ..db_support import fresh_database, on_postgres  # noqa: F401  (re-exported for the app tests)

TEST_DATA_KEY = "aGNwLXRlc3QtZGF0YS1rZXktbm90LWZvci1wcm9kISE="
TEST_SECRET_KEY = "test-secret-key-of-the-test-suite-only"


def make_app(database_url: str, instance: Path, **overrides: object) -> Flask:
    config = {
        "ENV": "testing",
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET_KEY,
        "DATA_KEYS": TEST_DATA_KEY,
        "INSTANCE_PATH": str(instance),
    }
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    directory = tmp_path_factory.mktemp("database")
    with fresh_database(directory) as url:
        application = make_app(url, tmp_path_factory.mktemp("instance"))
        with application.app_context():
            migrate.upgrade(db.engine)
        yield application
        with application.app_context():
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """The request-scoped session of the app, inside a transaction rolled back at the end.

    Commits made by code under test only release savepoints, so nothing outlives the test.
    """
    with app.app_context():
        engine = db.engine
        connection = engine.connect()
        transaction = connection.begin()
        db.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield db.session
        finally:
            db.session.close()
            transaction.rollback()
            connection.close()
            db.sessionmaker.configure(bind=engine)


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    """The engine clock at 2026-09-30 10:00 Beijing time (before the National Day break),
    moved by the test, never waited for."""
    manual = ManualClock(datetime(2026, 9, 30, 10, 0, tzinfo=timezone(timedelta(hours=8))))
    with using_clock(manual):
        yield manual


@pytest.fixture
def client(app: Flask, session: Session) -> FlaskClient:
    return app.test_client()


CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str) -> str:
    """The CSRF token of the form on ``path``, as a browser would read it."""
    page = client.get(path).get_data(as_text=True)
    match = CSRF_FIELD.search(page)
    assert match, f"no CSRF field on {path}"
    return match.group(1)
