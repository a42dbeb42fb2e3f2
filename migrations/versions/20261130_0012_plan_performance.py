"""performed exercises and adherence (issue 12)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # An analysis checked against a prescription: which plan, day and exercise.
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("plan_id", sa.String(32), nullable=True))
        batch.add_column(sa.Column("plan_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("plan_exercise_id", sa.String(80), nullable=True))
        batch.create_index("ix_analyses_plan_id", ["plan_id"])
    # What was performed of a prescribed exercise: a camera check or a self-report.
    op.create_table(
        "plan_performances",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("plan_id", sa.String(32), sa.ForeignKey("plans.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.String(80), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("analysis_id", sa.String(32),
                  sa.ForeignKey("analyses.id", ondelete="CASCADE"), nullable=True),
        sa.Column("valid", sa.Boolean(), nullable=False),
        sa.Column("reps", sa.Integer(), nullable=True),
        sa.Column("sets", sa.Integer(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("hold_s", sa.Float(), nullable=True),
        sa.Column("rom_deg", sa.Float(), nullable=True),
        sa.Column("rom_ratio", sa.Float(), nullable=True),
        sa.Column("form_verdict", sa.String(16), nullable=True),
        sa.Column("pain", sa.Integer(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("analysis_id", name="uq_plan_performances_analysis_id"),
    )
    op.create_index("ix_plan_performances_plan", "plan_performances", ["plan_id", "day"])
    op.create_index("ix_plan_performances_user", "plan_performances",
                    ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_plan_performances_user", table_name="plan_performances")
    op.drop_index("ix_plan_performances_plan", table_name="plan_performances")
    op.drop_table("plan_performances")
    with op.batch_alter_table("analyses") as batch:
        batch.drop_index("ix_analyses_plan_id")
        batch.drop_column("plan_exercise_id")
        batch.drop_column("plan_day")
        batch.drop_column("plan_id")
