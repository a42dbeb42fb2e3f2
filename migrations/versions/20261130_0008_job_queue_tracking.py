"""job queue tracking

The sweeper tells a job waiting in a long queue from one whose message was lost, and re-sends a
lost one at the priority it was first sent at; video.start builds its pipeline once per re-send.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("priority", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resends", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("pipeline_round", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("pipeline_round")
        batch.drop_column("resends")
        batch.drop_column("priority")
