"""reports: bulletins, monthly rating totals and the rating report index

Stored monthly bulletins (one row per month and revision); the index the report figures
read a period's ratings from (received_at first, every grouped column included); and the
totals of the months that have ended (rating_month_total, filled once per month by the
roll-up, rating_month_rollup), kept in step with every later insert, change or deletion of
a rating by triggers on the rating table (a statement trigger with transition tables on
PostgreSQL, row triggers on SQLite).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


MONTH_PG = "to_char(received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM')"
KEY = ("department_id", "channel", "level", "excluded", "sequence")
PG_FUNCTION = f"""
CREATE FUNCTION rating_month_total_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    UPDATE rating_month_total AS t SET ratings = t.ratings - o.n
      FROM (SELECT {MONTH_PG} AS month, {", ".join(KEY)}, count(*) AS n FROM old_rows
             GROUP BY 1, 2, 3, 4, 5, 6) AS o
     WHERE t.month = o.month AND {" AND ".join(f"t.{c} = o.{c}" for c in KEY)};
  END IF;
  IF TG_OP IN ('UPDATE', 'INSERT') THEN
    INSERT INTO rating_month_total AS t (month, {", ".join(KEY)}, ratings)
    SELECT n.month, {", ".join(f"n.{c}" for c in KEY)}, count(*)
      FROM (SELECT {MONTH_PG} AS month, {", ".join(KEY)} FROM new_rows) AS n
      JOIN rating_month_rollup AS r ON r.month = n.month
     GROUP BY 1, 2, 3, 4, 5, 6
    ON CONFLICT (month, {", ".join(KEY)}) DO UPDATE SET ratings = t.ratings + EXCLUDED.ratings;
  END IF;
  RETURN NULL;
END $$
"""
PG_TRIGGERS = (
    "CREATE TRIGGER rating_month_total_insert AFTER INSERT ON rating REFERENCING NEW TABLE AS new_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION rating_month_total_sync()",
    "CREATE TRIGGER rating_month_total_update AFTER UPDATE ON rating REFERENCING OLD TABLE AS old_rows "
    "NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION rating_month_total_sync()",
    "CREATE TRIGGER rating_month_total_delete AFTER DELETE ON rating REFERENCING OLD TABLE AS old_rows "
    "FOR EACH STATEMENT EXECUTE FUNCTION rating_month_total_sync()",
)


def _sqlite_key(row: str) -> str:
    month = f"strftime('%Y-%m', {row}.received_at, '+8 hours')"
    return f"month = {month} AND " + " AND ".join(f"{c} = {row}.{c}" for c in KEY)


def _sqlite_add(row: str) -> str:
    month = f"strftime('%Y-%m', {row}.received_at, '+8 hours')"
    rolled = f"EXISTS (SELECT 1 FROM rating_month_rollup WHERE month = {month})"
    return (f"INSERT OR IGNORE INTO rating_month_total (month, {', '.join(KEY)}, ratings) "
            f"SELECT {month}, {', '.join(f'{row}.{c}' for c in KEY)}, 0 WHERE {rolled}; "
            f"UPDATE rating_month_total SET ratings = ratings + 1 WHERE {_sqlite_key(row)} AND {rolled};")


def _sqlite_remove(row: str) -> str:
    return f"UPDATE rating_month_total SET ratings = ratings - 1 WHERE {_sqlite_key(row)};"


SQLITE_TRIGGERS = (
    f"CREATE TRIGGER rating_month_total_insert AFTER INSERT ON rating BEGIN {_sqlite_add('NEW')} END",
    f"CREATE TRIGGER rating_month_total_update AFTER UPDATE OF received_at, {', '.join(KEY)} ON rating "
    f"BEGIN {_sqlite_remove('OLD')} {_sqlite_add('NEW')} END",
    f"CREATE TRIGGER rating_month_total_delete AFTER DELETE ON rating BEGIN {_sqlite_remove('OLD')} END",
)


def upgrade() -> None:
    op.create_table('bulletin',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('generated_by', sa.String(length=64), nullable=False),
    sa.Column('content', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulletin')),
    sa.UniqueConstraint('month', 'revision', name=op.f('uq_bulletin_month_revision'))
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index('ix_rating_report', ['received_at', 'sequence', 'excluded', 'level', 'department_id', 'channel', 'service_item_id', 'staff_member_id', 'id'], unique=False)

    op.create_table('rating_month_rollup',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('rolled_up_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ratings', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('month', name=op.f('pk_rating_month_rollup'))
    )
    op.create_table('rating_month_total',
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.Enum('window_device', 'qr_code', 'web_portal', 'mobile_app', 'self_service', 'hotline', 'sms', name='channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('level', sa.Enum('very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied', name='level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('ratings', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_rating_month_total_department_id_department')),
    sa.PrimaryKeyConstraint('month', 'department_id', 'channel', 'level', 'excluded', 'sequence', name=op.f('pk_rating_month_total'))
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for statement in PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    for trigger in ("rating_month_total_insert", "rating_month_total_update", "rating_month_total_delete"):
        op.execute(f"DROP TRIGGER {trigger} ON rating" if op.get_bind().dialect.name == "postgresql"
                   else f"DROP TRIGGER {trigger}")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION rating_month_total_sync()")
    op.drop_table('rating_month_total')
    op.drop_table('rating_month_rollup')
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index('ix_rating_report')

    op.drop_table('bulletin')
