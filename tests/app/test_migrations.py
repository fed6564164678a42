"""The schema comes only from migrations, and the migrations agree with the models."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask

from app import migrate
from app.extensions import db
from app.models import Base

from .conftest import fresh_database, make_app


def test_models_and_migrations_agree(app: Flask) -> None:
    """Autogenerate, run against the migrated test database, finds nothing to change."""
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    with app.app_context():
        assert migrate.current_revision(db.engine) == migrate.head_revision()


def test_upgrade_downgrade_upgrade_from_nothing(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        app = make_app(url, tmp_path / "instance")
        with app.app_context():
            engine = db.engine
            migrate.upgrade(engine)
            tables = set(sa.inspect(engine).get_table_names())
            assert set(Base.metadata.tables) <= tables
            migrate.downgrade(engine, "base")
            assert set(sa.inspect(engine).get_table_names()) <= {"alembic_version"}
            migrate.upgrade(engine)
            assert migrate.current_revision(engine) == migrate.head_revision()
            engine.dispose()


def test_every_migration_has_a_downgrade() -> None:
    for path in sorted((migrate.MIGRATIONS_DIR / "versions").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        body = source.split("def downgrade() -> None:", 1)[1]
        assert body.strip() and body.strip() != "pass", f"{path.name} cannot be reverted"
