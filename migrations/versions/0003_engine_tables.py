"""engine tables: deployments, process instances, human tasks and timers; case_file.instance_id

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('wf_deployment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('bpmn_files', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('form_files', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('deployed_by', sa.String(length=64), nullable=False),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_deployment')),
    sa.UniqueConstraint('version', name=op.f('uq_wf_deployment_version'))
    )
    op.create_table('wf_instance',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=64), nullable=False),
    sa.Column('business_key', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('state', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['wf_deployment.id'], name=op.f('fk_wf_instance_deployment_id_wf_deployment')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_instance')),
    sa.UniqueConstraint('business_key', name=op.f('uq_wf_instance_business_key'))
    )
    with op.batch_alter_table('wf_instance', schema=None) as batch_op:
        batch_op.create_index('ix_wf_instance_status', ['status'], unique=False)

    op.create_table('wf_task',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_uuid', sa.String(length=36), nullable=False),
    sa.Column('bpmn_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('lane', sa.String(length=50), nullable=True),
    sa.Column('role', sa.String(length=32), nullable=True),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('form', sa.String(length=64), nullable=True),
    sa.Column('stage', sa.String(length=32), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_by', sa.Integer(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by', sa.Integer(), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['wf_instance.id'], name=op.f('fk_wf_task_instance_id_wf_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_task')),
    sa.UniqueConstraint('task_uuid', name=op.f('uq_wf_task_task_uuid'))
    )
    with op.batch_alter_table('wf_task', schema=None) as batch_op:
        batch_op.create_index('ix_wf_task_claimed', ['claimed_by', 'status'], unique=False)
        batch_op.create_index('ix_wf_task_instance_status', ['instance_id', 'status'], unique=False)
        batch_op.create_index('ix_wf_task_offer', ['status', 'department_id', 'role'], unique=False)

    op.create_table('wf_timer',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('instance_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('task_uuid', sa.String(length=36), nullable=False),
    sa.Column('bpmn_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('clock', sa.String(length=16), nullable=True),
    sa.Column('attached_to', sa.String(length=64), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('provisional', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['instance_id'], ['wf_instance.id'], name=op.f('fk_wf_timer_instance_id_wf_instance')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wf_timer')),
    sa.UniqueConstraint('task_uuid', name=op.f('uq_wf_timer_task_uuid'))
    )
    with op.batch_alter_table('wf_timer', schema=None) as batch_op:
        batch_op.create_index('ix_wf_timer_due', ['status', 'due_at'], unique=False)
        batch_op.create_index('ix_wf_timer_instance', ['instance_id', 'status'], unique=False)

    # A plain ADD COLUMN (no table rebuild on SQLite, where rebuilding case_file would trip
    # the foreign keys of its history rows); uniqueness as a unique index on both databases.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute("ALTER TABLE case_file ADD COLUMN instance_id INTEGER REFERENCES wf_instance (id)")
    else:
        op.add_column('case_file', sa.Column('instance_id', sa.BigInteger(), nullable=True))
        op.create_foreign_key(op.f('fk_case_file_instance_id_wf_instance'), 'case_file', 'wf_instance',
                              ['instance_id'], ['id'])
    op.create_index('uq_case_file_instance_id', 'case_file', ['instance_id'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_case_file_instance_id', table_name='case_file')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        if op.get_bind().dialect.name == 'postgresql':
            batch_op.drop_constraint(op.f('fk_case_file_instance_id_wf_instance'), type_='foreignkey')
        batch_op.drop_column('instance_id')
    with op.batch_alter_table('wf_timer', schema=None) as batch_op:
        batch_op.drop_index('ix_wf_timer_instance')
        batch_op.drop_index('ix_wf_timer_due')

    op.drop_table('wf_timer')
    with op.batch_alter_table('wf_task', schema=None) as batch_op:
        batch_op.drop_index('ix_wf_task_offer')
        batch_op.drop_index('ix_wf_task_instance_status')
        batch_op.drop_index('ix_wf_task_claimed')

    op.drop_table('wf_task')
    with op.batch_alter_table('wf_instance', schema=None) as batch_op:
        batch_op.drop_index('ix_wf_instance_status')

    op.drop_table('wf_instance')
    op.drop_table('wf_deployment')
