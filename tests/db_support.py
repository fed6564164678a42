"""Test databases, shared by the app tests and the engine tests (no Flask here).

SQLite by default; PostgreSQL when ``HCP_TEST_DATABASE_URL`` names a server: a new
database is created next to the one it names and dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa


def on_postgres() -> bool:
    return bool(os.environ.get("HCP_TEST_DATABASE_URL"))


@contextmanager
def fresh_database(directory: Path, base: str | None = None) -> Iterator[str]:
    """An empty database for the duration of the block; yields its URL. ``base`` (default:
    ``HCP_TEST_DATABASE_URL``) names a PostgreSQL server; without one, a SQLite file."""
    base = base or os.environ.get("HCP_TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{directory / f'test-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    url = sa.make_url(base)
    name = f"hcp_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()
