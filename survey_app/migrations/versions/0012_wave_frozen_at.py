"""wave.frozen_at: when a closed wave's frozen inputs were last written (close, recompute)

The result pages reuse a closed wave's parsed snapshot while (status, closed_at,
frozen_at) stay the same; before, the key was the newest audit-log id, which every
interview changes, so the snapshot (megabytes of JSON at city scale) was read and parsed
again on the first page view after each interview.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.add_column(sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE wave SET frozen_at = closed_at WHERE frozen IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_column("frozen_at")
