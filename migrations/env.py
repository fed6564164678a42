"""Alembic environment. Run through ``hcp db …``, which passes the connection in."""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import JSON
from sqlalchemy.types import TypeDecorator

from app.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `hcp db upgrade` (it reads HCP_DATABASE_URL), not bare alembic")



def render_item(kind: str, obj: Any, _context: Any) -> str | bool:
    """Write the application's column types as the plain SQL types they store, so a
    migration never depends on application code that may change later."""
    if kind == "type" and isinstance(obj, TypeDecorator):
        return f"sa.{obj.impl!r}"
    if kind == "type" and isinstance(obj, JSON):  # JSON, and JSONB on PostgreSQL
        _context.imports.add("from sqlalchemy.dialects import postgresql")
        return "sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')"
    return False


context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
    compare_type=True,
    compare_server_default=False,
    render_item=render_item,
    transaction_per_migration=True,
)
with context.begin_transaction():
    context.run_migrations()
