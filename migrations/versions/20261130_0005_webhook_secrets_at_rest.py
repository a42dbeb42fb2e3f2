"""webhook secrets at rest

Webhook signing secrets are stored Fernet-encrypted (key derived from SECRET_KEY, see
domain/webhooks/secret_box.py): the columns grow to hold the token, and every plain-text row
is encrypted in place. Downgrade decrypts them back.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from config import settings
from domain.webhooks import secret_box

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

COLUMNS = ('secret', 'previous_secret')
endpoints = sa.table('webhook_endpoints', sa.column('id', sa.String),
                     *(sa.column(name, sa.String) for name in COLUMNS))


def _rewrite(transform) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(endpoints)).mappings().all()
    for row in rows:
        values = {name: transform(row[name]) for name in COLUMNS if row[name] is not None}
        changed = {k: v for k, v in values.items() if v != row[k]}
        if changed:
            conn.execute(endpoints.update().where(endpoints.c.id == row['id']).values(**changed))


def upgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=128),
                              type_=sa.String(length=512), existing_nullable=False)
        batch_op.alter_column('previous_secret', existing_type=sa.String(length=128),
                              type_=sa.String(length=512), existing_nullable=True)
    _rewrite(lambda value: value if secret_box.is_encrypted(value)
             else secret_box.encrypt(value, settings.secret_key))


def downgrade() -> None:
    _rewrite(lambda value: secret_box.decrypt(value, settings.secret_key,
                                              settings.secret_key_fallbacks))
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.alter_column('previous_secret', existing_type=sa.String(length=512),
                              type_=sa.String(length=128), existing_nullable=True)
        batch_op.alter_column('secret', existing_type=sa.String(length=512),
                              type_=sa.String(length=128), existing_nullable=False)
