"""Engine tests: a database with the engine's tables, no Flask, no application."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from workflows.clock import ManualClock, using_clock
from workflows.tables import Deployment, HumanTask, ProcessInstance, Timer

from ..db_support import fresh_database

ENGINE_TABLES = [t.__table__ for t in (Deployment, ProcessInstance, HumanTask, Timer)]


@pytest.fixture
def session_factory(tmp_path: Path) -> Iterator[Callable[[], Session]]:
    """Sessions on a fresh database holding the engine's tables; they commit for real."""
    with fresh_database(tmp_path) as url:
        engine = sa.create_engine(url)
        Base = Deployment.metadata  # the shared metadata; only the engine's tables are made
        Base.create_all(engine, tables=ENGINE_TABLES)
        try:
            yield sessionmaker(engine, expire_on_commit=False)
        finally:
            engine.dispose()


@pytest.fixture
def clock() -> Iterator[ManualClock]:
    manual = ManualClock(datetime(2026, 9, 30, 2, 0, tzinfo=timezone.utc))  # 10:00 Beijing
    with using_clock(manual):
        yield manual
