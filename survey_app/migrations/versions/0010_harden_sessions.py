"""harden: session epoch and sign-in lockout on app_user; positions rounded to ~10 m

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 08:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    # Positions were kept at whatever precision tablets sent: 4 decimals (~10 m) is what
    # finding a door again needs (PIPL: no more than the work needs).
    cast = "CAST({} AS NUMERIC)" if op.get_bind().dialect.name == "postgresql" else "{}"
    op.execute(
        "UPDATE visit SET latitude = ROUND({}, 4), longitude = ROUND({}, 4) "
        "WHERE latitude IS NOT NULL OR longitude IS NOT NULL".format(
            cast.format("latitude"), cast.format("longitude")
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("session_epoch")
