"""calendar year versions: holiday data loaded by administrators, one row per load

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('calendar_year_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('source', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('loaded_by', sa.String(length=64), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_year_version'))
    )
    with op.batch_alter_table('calendar_year_version', schema=None) as batch_op:
        batch_op.create_index('ix_calendar_year_version_year_id', ['year', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('calendar_year_version', schema=None) as batch_op:
        batch_op.drop_index('ix_calendar_year_version_year_id')

    op.drop_table('calendar_year_version')
