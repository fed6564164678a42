"""case history hash chain

Every case_event gets prev_hash and hash; every case_file the head of its chain. Events
written before this migration are chained here, case by case, in their order.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64
GUARD_MESSAGE = "case_event is append-only"


def _hash(prev: str, case_no: str, row: sa.Row) -> str:
    """Chain version 1, frozen here (app/services/history_chain.py may move on)."""
    moment = row.occurred_at
    if isinstance(moment, str):  # SQLite hands back text to a plain query
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    data = row.data if not isinstance(row.data, str) else json.loads(row.data)
    body = {"v": 1, "case": case_no, "seq": row.seq, "event": row.event, "actor_id": row.actor_id,
            "actor": row.actor, "at": moment.astimezone(timezone.utc).isoformat(timespec="microseconds"),
            "data": data}
    content = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
    return hashlib.sha256(content + prev.encode()).hexdigest()


def _chain_existing_events() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    # The append-only guard refuses the one-time update that chains the old events.
    if postgres:
        op.execute("ALTER TABLE case_event DISABLE TRIGGER case_event_no_change")
    else:
        op.execute("DROP TRIGGER case_event_no_update")
    cases = bind.execute(sa.text("SELECT id, case_no FROM case_file ORDER BY id")).all()
    for case_id, case_no in cases:
        prev, count = GENESIS, 0
        rows = bind.execute(sa.text("SELECT id, seq, event, actor_id, actor, occurred_at, data FROM case_event "
                                    "WHERE case_id = :case ORDER BY seq"), {"case": case_id}).all()
        for row in rows:
            digest = _hash(prev, case_no, row)
            bind.execute(sa.text("UPDATE case_event SET prev_hash = :prev, hash = :hash WHERE id = :id"),
                         {"prev": prev, "hash": digest, "id": row.id})
            prev, count = digest, count + 1
        bind.execute(sa.text("UPDATE case_file SET history_count = :n, history_head = :head WHERE id = :id"),
                     {"n": count, "head": prev, "id": case_id})
    if postgres:
        op.execute("ALTER TABLE case_event ENABLE TRIGGER case_event_no_change")
    else:
        op.execute("CREATE TRIGGER case_event_no_update BEFORE UPDATE ON case_event "
                   f"BEGIN SELECT RAISE(ABORT, '{GUARD_MESSAGE}'); END")


def upgrade() -> None:
    # Plain ADD COLUMN (no table rebuild: case_file is referenced, case_event has triggers).
    op.add_column('case_event', sa.Column('prev_hash', sa.String(length=64), server_default='', nullable=False))
    op.add_column('case_event', sa.Column('hash', sa.String(length=64), server_default='', nullable=False))
    op.add_column('case_file', sa.Column('history_count', sa.Integer(), server_default='0', nullable=False))
    op.add_column('case_file', sa.Column('history_head', sa.String(length=64), server_default=GENESIS,
                                         nullable=False))
    _chain_existing_events()


def downgrade() -> None:
    op.drop_column('case_file', 'history_head')
    op.drop_column('case_file', 'history_count')
    op.drop_column('case_event', 'hash')
    op.drop_column('case_event', 'prev_hash')
