"""visits: appointments (预约再访) and the kind of a refusal (soft / hard)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 07:40:00
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.add_column(sa.Column("appointment_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("refusal", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("visit", schema=None) as batch_op:
        batch_op.drop_column("refusal")
        batch_op.drop_column("appointment_at")
