"""performed exercises and adherence (issue 12)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 04:20:00
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reserved: performed exercises and adherence (issue 12). Empty until that work lands.
    pass


def downgrade() -> None:
    pass
