"""refresh tokens (issue 14)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Refresh tokens (sha256 only), one row per token; a family is one sign-in session.
    op.create_table(
        'auth_refresh_tokens',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('user_id', sa.String(length=32), nullable=False),
        sa.Column('family_id', sa.String(length=32), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('token_version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_auth_refresh_tokens_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_refresh_tokens')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_auth_refresh_tokens_token_hash')),
    )
    with op.batch_alter_table('auth_refresh_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_refresh_tokens_family_id'), ['family_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_auth_refresh_tokens_user_id'), ['user_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('auth_refresh_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_refresh_tokens_user_id'))
        batch_op.drop_index(batch_op.f('ix_auth_refresh_tokens_family_id'))
    op.drop_table('auth_refresh_tokens')
