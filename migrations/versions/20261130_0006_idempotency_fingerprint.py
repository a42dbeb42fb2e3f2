"""idempotency fingerprint

jobs.request_fingerprint: a SHA-256 of the request that created the job (method, path, JSON body
or multipart fields and file digests), so an Idempotency-Key reused with a different request is
refused (422 idempotency_key_reused) instead of answering with the first job.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('request_fingerprint', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('request_fingerprint')
