"""Alembic driven from the application: the schema comes only from migrations."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config() -> Config:
    if not (MIGRATIONS_DIR / "env.py").exists():
        raise FileNotFoundError(f"migrations not found at {MIGRATIONS_DIR}; install from a source "
                                "checkout (pip install -e .)")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    return config


@contextmanager
def _bound(engine: Engine) -> Iterator[Config]:
    config = alembic_config()
    with engine.connect() as connection:
        config.attributes["connection"] = connection
        yield config
        connection.commit()


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _bound(engine) as config:
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    with _bound(engine) as config:
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def next_revision_id() -> str:
    """Migrations are numbered 0001, 0002, … so their order reads from the file names."""
    numbers = [int(p.name[:4]) for p in (MIGRATIONS_DIR / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    return f"{max(numbers, default=0) + 1:04d}"


def revision(engine: Engine, message: str, autogenerate: bool) -> None:
    with _bound(engine) as config:
        command.revision(config, message=message, autogenerate=autogenerate, rev_id=next_revision_id())
