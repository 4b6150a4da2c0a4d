"""widen instrumentversion.content_hash to hold "sha256:" + 64 hex digits

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 02:05:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instrumentversion", schema=None) as batch_op:
        batch_op.alter_column(
            "content_hash",
            existing_type=sa.VARCHAR(length=64),
            type_=sa.String(length=80),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("instrumentversion", schema=None) as batch_op:
        batch_op.alter_column(
            "content_hash",
            existing_type=sa.String(length=80),
            type_=sa.VARCHAR(length=64),
            existing_nullable=False,
        )
