"""initial schema: departments, staff, users and roles, service items and records,
ratings, cases and their append-only history

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The case history is append-only (DESIGN.md §4): the database itself refuses UPDATE and
# DELETE, so nothing that bypasses the ORM can rewrite a case's past.
APPEND_ONLY_MESSAGE = "case_event is append-only"


def _create_append_only_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""
            CREATE FUNCTION case_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}' USING ERRCODE = 'restrict_violation';
            END $$""")
        op.execute("CREATE TRIGGER case_event_no_change BEFORE UPDATE OR DELETE ON case_event "
                   "FOR EACH ROW EXECUTE FUNCTION case_event_append_only()")
        op.execute("CREATE TRIGGER case_event_no_truncate BEFORE TRUNCATE ON case_event "
                   "FOR EACH STATEMENT EXECUTE FUNCTION case_event_append_only()")
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER case_event_no_{action.lower()} BEFORE {action} ON case_event "
                       f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END")


def _drop_append_only_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER case_event_no_truncate ON case_event")
        op.execute("DROP TRIGGER case_event_no_change ON case_event")
        op.execute("DROP FUNCTION case_event_append_only()")
    else:
        op.execute("DROP TRIGGER case_event_no_update")
        op.execute("DROP TRIGGER case_event_no_delete")


def upgrade() -> None:
    op.create_table('department',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('credit_code', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('short_name', sa.String(length=30), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('is_service_center', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.CheckConstraint('length(credit_code) = 18', name=op.f('ck_department_credit_code_length')),
    sa.CheckConstraint('length(region_code) = 6', name=op.f('ck_department_region_code_length')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_department')),
    sa.UniqueConstraint('credit_code', name=op.f('uq_department_credit_code')),
    sa.UniqueConstraint('name', name=op.f('uq_department_name'))
    )
    op.create_table('service_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('licensing', 'benefit', 'confirmation', 'other', 'public_service', name='item_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('promised_days', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_service_item_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_item')),
    sa.UniqueConstraint('code', name=op.f('uq_service_item_code'))
    )
    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_item_department_id'), ['department_id'], unique=False)

    op.create_table('staff_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('staff_no', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('window', sa.String(length=50), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_staff_member_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_member')),
    sa.UniqueConstraint('department_id', 'staff_no', name=op.f('uq_staff_member_department_id_staff_no'))
    )
    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_member_department_id'), ['department_id'], unique=False)

    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=50), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_user_account_department_id_department')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('username', name=op.f('uq_user_account_username'))
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_department_id'), ['department_id'], unique=False)

    op.create_table('service_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_no', sa.String(length=64), nullable=False),
    sa.Column('service_item_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_service_record_department_id_department')),
    sa.ForeignKeyConstraint(['service_item_id'], ['service_item.id'], name=op.f('fk_service_record_service_item_id_service_item')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_member.id'], name=op.f('fk_service_record_staff_member_id_staff_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_record')),
    sa.UniqueConstraint('record_no', name=op.f('uq_service_record_record_no'))
    )
    with op.batch_alter_table('service_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_record_department_id'), ['department_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_record_service_item_id'), ['service_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_service_record_staff_member_id'), ['staff_member_id'], unique=False)

    op.create_table('user_role',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('handler', 'lead', 'verifier', 'supervisor', 'designer', 'auditor', 'admin', name='role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_user_role_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_role'))
    )
    op.create_table('rating',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=64), nullable=False),
    sa.Column('external_id', sa.String(length=128), nullable=False),
    sa.Column('service_record_id', sa.Integer(), nullable=False),
    sa.Column('service_item_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('staff_member_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.Enum('window_device', 'qr_code', 'web_portal', 'mobile_app', 'self_service', 'hotline', 'sms', name='channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('level', sa.Enum('very_satisfied', 'satisfied', 'basically_satisfied', 'dissatisfied', 'very_dissatisfied', name='level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=True),
    sa.Column('evaluated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('real_name', sa.Boolean(), nullable=False),
    sa.Column('evaluator_type', sa.Enum('person', 'legal_entity', name='evaluator_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('evaluator_name', sa.Text(), nullable=True),
    sa.Column('evaluator_phone', sa.Text(), nullable=True),
    sa.Column('evaluator_phone_index', sa.String(length=64), nullable=True),
    sa.Column('evaluator_id_type', sa.Enum('resident_id', 'passport', 'hk_macao_permit', 'taiwan_permit', 'foreign_residence', 'credit_code', name='id_type', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('evaluator_id_no', sa.Text(), nullable=True),
    sa.Column('evaluator_id_index', sa.String(length=64), nullable=True),
    sa.Column('excluded', sa.Boolean(), nullable=False),
    sa.Column('excluded_reason', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_rating_department_id_department')),
    sa.ForeignKeyConstraint(['service_item_id'], ['service_item.id'], name=op.f('fk_rating_service_item_id_service_item')),
    sa.ForeignKeyConstraint(['service_record_id'], ['service_record.id'], name=op.f('fk_rating_service_record_id_service_record')),
    sa.ForeignKeyConstraint(['staff_member_id'], ['staff_member.id'], name=op.f('fk_rating_staff_member_id_staff_member')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rating')),
    sa.UniqueConstraint('source', 'external_id', name=op.f('uq_rating_source_external_id'))
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index('ix_rating_department_evaluated', ['department_id', 'evaluated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_evaluator_id_index'), ['evaluator_id_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_evaluator_phone_index'), ['evaluator_phone_index'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_service_item_id'), ['service_item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_service_record_id'), ['service_record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_rating_staff_member_id'), ['staff_member_id'], unique=False)

    op.create_table('case_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_no', sa.String(length=32), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', name='case_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('stage', sa.Enum('routing', 'on_spot', 'contact', 'rectification', 'appeal', 'recheck', 'return_visit', 'supervisor_decision', 'filing', 'closed', name='case_stage', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('contact_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rectify_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('close_due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deadlines_provisional', sa.Boolean(), nullable=False),
    sa.Column('is_complex', sa.Boolean(), nullable=False),
    sa.Column('complex_reason', sa.Text(), nullable=True),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('resolved_on_spot', 'rectified', 'explained', 'appeal_upheld', 'supervisor_closed', name='case_outcome', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), server_default=sa.text('(CURRENT_TIMESTAMP)'), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['department.id'], name=op.f('fk_case_file_department_id_department')),
    sa.ForeignKeyConstraint(['rating_id'], ['rating.id'], name=op.f('fk_case_file_rating_id_rating')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_file')),
    sa.UniqueConstraint('case_no', name=op.f('uq_case_file_case_no')),
    sa.UniqueConstraint('rating_id', name=op.f('uq_case_file_rating_id'))
    )
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.create_index('ix_case_file_department_status', ['department_id', 'status'], unique=False)
        batch_op.create_index('ix_case_file_status_stage', ['status', 'stage'], unique=False)

    op.create_table('rating_dimension',
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('dimension', sa.Enum('process', 'materials', 'mechanism', 'efficiency', 'trips', 'one_door', 'one_window', 'one_chain', 'fees', name='dimension', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.ForeignKeyConstraint(['rating_id'], ['rating.id'], name=op.f('fk_rating_dimension_rating_id_rating'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('rating_id', 'dimension', name=op.f('pk_rating_dimension'))
    )
    op.create_table('case_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=64), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_case_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['case_id'], ['case_file.id'], name=op.f('fk_case_event_case_id_case_file')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_event')),
    sa.UniqueConstraint('case_id', 'seq', name=op.f('uq_case_event_case_id_seq'))
    )
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_event_case_id'), ['case_id'], unique=False)
    _create_append_only_guard()


def downgrade() -> None:
    _drop_append_only_guard()
    with op.batch_alter_table('case_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_event_case_id'))

    op.drop_table('case_event')
    op.drop_table('rating_dimension')
    with op.batch_alter_table('case_file', schema=None) as batch_op:
        batch_op.drop_index('ix_case_file_status_stage')
        batch_op.drop_index('ix_case_file_department_status')

    op.drop_table('case_file')
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_staff_member_id'))
        batch_op.drop_index(batch_op.f('ix_rating_service_record_id'))
        batch_op.drop_index(batch_op.f('ix_rating_service_item_id'))
        batch_op.drop_index(batch_op.f('ix_rating_evaluator_phone_index'))
        batch_op.drop_index(batch_op.f('ix_rating_evaluator_id_index'))
        batch_op.drop_index('ix_rating_department_evaluated')

    op.drop_table('rating')
    op.drop_table('user_role')
    with op.batch_alter_table('service_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_record_staff_member_id'))
        batch_op.drop_index(batch_op.f('ix_service_record_service_item_id'))
        batch_op.drop_index(batch_op.f('ix_service_record_department_id'))

    op.drop_table('service_record')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_department_id'))

    op.drop_table('user_account')
    with op.batch_alter_table('staff_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_member_department_id'))

    op.drop_table('staff_member')
    with op.batch_alter_table('service_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_item_department_id'))

    op.drop_table('service_item')
    op.drop_table('department')
