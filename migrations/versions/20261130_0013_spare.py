"""pain rated with a week's feedback (issue 14)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # 0 (none) to 10 (worst), optional: from 5 the week is adapted as discomfort
    with op.batch_alter_table("plan_feedback") as batch:
        batch.add_column(sa.Column("pain", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("plan_feedback") as batch:
        batch.drop_column("pain")
