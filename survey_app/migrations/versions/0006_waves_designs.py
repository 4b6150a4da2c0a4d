"""waves: sampling designs, covered communities with their frame sizes, the draw on
each assignment (replicate, inclusion probability, stratum, PSU), held submissions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 07:14:06
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wavecommunity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=False),
        sa.Column("households", sa.Integer(), nullable=False),
        sa.Column("buildings", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["community_id"],
            ["community.id"],
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["wave.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("wave_id", "community_id"),
    )
    with op.batch_alter_table("wavecommunity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wavecommunity_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_wavecommunity_wave_id"), ["wave_id"], unique=False)

    op.create_table(
        "heldsubmission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("assignment_id", sa.Integer(), nullable=True),
        sa.Column("wave_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolution", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["assignment.id"],
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["wave.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("heldsubmission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_heldsubmission_assignment_id"), ["assignment_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_heldsubmission_wave_id"), ["wave_id"], unique=False)

    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("replicate", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("released", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(sa.Column("inclusion_prob", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("psu_prob", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("pool_size", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("stratum", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("psu", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )

    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("design", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(sa.Column("design_options", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("seed", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("released", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("frame_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(sa.Column("sampled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("frozen", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("wave", schema=None) as batch_op:
        batch_op.drop_column("frozen")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("opened_at")
        batch_op.drop_column("sampled_at")
        batch_op.drop_column("frame_hash")
        batch_op.drop_column("released")
        batch_op.drop_column("seed")
        batch_op.drop_column("design_options")
        batch_op.drop_column("design")

    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_column("psu")
        batch_op.drop_column("stratum")
        batch_op.drop_column("pool_size")
        batch_op.drop_column("psu_prob")
        batch_op.drop_column("inclusion_prob")
        batch_op.drop_column("released")
        batch_op.drop_column("replicate")

    with op.batch_alter_table("heldsubmission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_heldsubmission_wave_id"))
        batch_op.drop_index(batch_op.f("ix_heldsubmission_assignment_id"))

    op.drop_table("heldsubmission")
    with op.batch_alter_table("wavecommunity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wavecommunity_wave_id"))
        batch_op.drop_index(batch_op.f("ix_wavecommunity_community_id"))

    op.drop_table("wavecommunity")
