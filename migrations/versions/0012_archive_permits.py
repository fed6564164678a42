"""archive permits: the append-only guard of case_event lets an archived case's events go

The archiver (hcp audit archive) grants a permit per case inside its transaction, removes
the case's history, and withdraws the permits; without a permit deleting an event is still
refused by the database, and updating one always is.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MESSAGE = "case_event is append-only"


def _guard(with_permits: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        permit = ("    IF TG_OP = 'DELETE' AND EXISTS (SELECT 1 FROM archive_permit WHERE case_id = OLD.case_id) THEN\n"
                  "        RETURN OLD;\n    END IF;\n") if with_permits else ""
        op.execute(f"""
            CREATE OR REPLACE FUNCTION case_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
            {permit}
                RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'restrict_violation';
            END $$""")
        return
    op.execute("DROP TRIGGER case_event_no_delete")
    when = " WHEN NOT EXISTS (SELECT 1 FROM archive_permit WHERE case_id = OLD.case_id)" if with_permits else ""
    op.execute(f"CREATE TRIGGER case_event_no_delete BEFORE DELETE ON case_event{when} "
               f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END")


def upgrade() -> None:
    op.create_table('archive_permit',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_archive_permit_case_id_case_file'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_archive_permit'))
    )
    _guard(with_permits=True)


def downgrade() -> None:
    _guard(with_permits=False)
    op.drop_table('archive_permit')
