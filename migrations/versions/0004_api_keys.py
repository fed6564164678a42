"""api keys of rating sources; service_record.awaiting_platform; one rating per record and sequence

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('api_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.Enum('window_device', 'qr_code', 'web_portal', 'mobile_app', 'self_service', 'hotline', 'sms', name='api_key_channel', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_key')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_api_key_key_hash')),
    sa.UniqueConstraint('name', name=op.f('uq_api_key_name'))
    )
    # A plain ADD COLUMN with a default: rebuilding service_record on SQLite would trip the
    # foreign keys of the ratings that point at it.
    op.add_column('service_record', sa.Column('awaiting_platform', sa.Boolean(), nullable=False,
                                              server_default=sa.false()))
    # 一次一评 under concurrent requests; a unique index, which SQLite can add in place.
    op.create_index('uq_rating_service_record_id_sequence', 'rating', ['service_record_id', 'sequence'],
                    unique=True)


def downgrade() -> None:
    op.drop_index('uq_rating_service_record_id_sequence', table_name='rating')
    with op.batch_alter_table('service_record', schema=None) as batch_op:
        batch_op.drop_column('awaiting_platform')

    op.drop_table('api_key')
