"""inbox and collaboration: comments, evidence, notifications, saved filters, user tokens, login throttling

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('saved_filter',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('shared_department_id', sa.Integer(), nullable=True),
    sa.Column('query', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['user_account.id'], name=op.f('fk_saved_filter_owner_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shared_department_id'], ['department.id'], name=op.f('fk_saved_filter_shared_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filter')),
    sa.UniqueConstraint('owner_id', 'name', name=op.f('uq_saved_filter_owner_id_name'))
    )
    with op.batch_alter_table('saved_filter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_saved_filter_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_saved_filter_shared_department_id'), ['shared_department_id'], unique=False)

    op.create_table('user_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_token_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_token')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_user_token_token_hash'))
    )
    with op.batch_alter_table('user_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_token_user_id'), ['user_id'], unique=False)

    op.create_table('case_comment',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_case_comment_author_id_user_account')),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_comment_case_id_case_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_comment'))
    )
    with op.batch_alter_table('case_comment', schema=None) as batch_op:
        batch_op.create_index('ix_case_comment_case', ['case_id', 'id'], unique=False)

    op.create_table('evidence_file',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('uploaded_by', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_evidence_file_case_id_case_file')),
    sa.ForeignKeyConstraint(['task_id'], ['wf_task.id'], name=op.f('fk_evidence_file_task_id_wf_task')),
    sa.ForeignKeyConstraint(['uploaded_by'], ['user_account.id'], name=op.f('fk_evidence_file_uploaded_by_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_file'))
    )
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_file_case', ['case_id', 'id'], unique=False)

    op.create_table('notification',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('delivery', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_notification_case_id_case_file')),
    sa.ForeignKeyConstraint(['task_id'], ['wf_task.id'], name=op.f('fk_notification_task_id_wf_task')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_delivery', ['delivery', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_notification_inbox', ['user_id', 'read_at', 'id'], unique=False)

    # Plain ADD COLUMN: a batch rebuild of user_account would trip the foreign keys on SQLite.
    op.add_column('user_account', sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
    op.add_column('user_account', sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('user_account', sa.Column('password_changed_at', sa.DateTime(timezone=True), nullable=True))

def downgrade() -> None:
    op.drop_column('user_account', 'password_changed_at')
    op.drop_column('user_account', 'locked_until')
    op.drop_column('user_account', 'failed_logins')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_inbox')
        batch_op.drop_index('ix_notification_delivery')

    op.drop_table('notification')
    with op.batch_alter_table('evidence_file', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_file_case')

    op.drop_table('evidence_file')
    with op.batch_alter_table('case_comment', schema=None) as batch_op:
        batch_op.drop_index('ix_case_comment_case')

    op.drop_table('case_comment')
    with op.batch_alter_table('user_token', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_token_user_id'))

    op.drop_table('user_token')
    with op.batch_alter_table('saved_filter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_saved_filter_shared_department_id'))
        batch_op.drop_index(batch_op.f('ix_saved_filter_owner_id'))

    op.drop_table('saved_filter')
