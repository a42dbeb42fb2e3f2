"""job worker losses

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # How many times a worker process died while running one of the job's tasks (OOM kill,
    # crash in native code). At MAX_WORKER_LOSSES the job fails `worker_lost` instead of being
    # redelivered once more.
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('worker_losses', sa.Integer(), nullable=False,
                                      server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_column('worker_losses')
