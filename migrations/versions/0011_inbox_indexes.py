"""inbox indexes: open offers by department, tasks completed by a user

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('wf_task', schema=None) as batch_op:
        batch_op.create_index('ix_wf_task_completed', ['completed_by', 'status', 'completed_at'], unique=False)
        batch_op.create_index('ix_wf_task_open_offer', ['department_id', 'status', 'claimed_by', 'role'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wf_task', schema=None) as batch_op:
        batch_op.drop_index('ix_wf_task_open_offer')
        batch_op.drop_index('ix_wf_task_completed')
