"""supervision and quality control: revisions, review events, quality flags, back-checks,
each wave's quality settings, and response.revision (the latest revision's number)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 07:12:57.855762
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wave_quality",
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("counts", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=True),
        sa.Column("backcheck_share", sa.Float(), nullable=False),
        sa.Column("backcheck_seed", sa.Integer(), nullable=False),
        sa.Column("flags_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["wave.id"],
        ),
        sa.PrimaryKeyConstraint("wave_id"),
    )
    op.create_table(
        "back_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("canvasser_id", sa.Integer(), nullable=True),
        sa.Column("checker_id", sa.Integer(), nullable=True),
        sa.Column("mode", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("visited", sa.Boolean(), nullable=True),
        sa.Column("answers", sa.JSON(), nullable=True),
        sa.Column("agreement", sa.JSON(), nullable=True),
        sa.Column("contradicts", sa.Boolean(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("drawn_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["canvasser_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["checker_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["done_by"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["wave.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id"),
    )
    with op.batch_alter_table("back_check", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_back_check_canvasser_id"), ["canvasser_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_back_check_checker_id"), ["checker_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_back_check_wave_id"), ["wave_id"], unique=False)

    op.create_table(
        "quality_flag",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("canvasser_id", sa.Integer(), nullable=True),
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["canvasser_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"],
            ["wave.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("quality_flag", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_quality_flag_canvasser_id"), ["canvasser_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_quality_flag_response_id"), ["response_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_quality_flag_wave_id"), ["wave_id"], unique=False)

    op.create_table(
        "response_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("uuid", sqlmodel.sql.sqltypes.AutoString(length=36), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("timings", sa.JSON(), nullable=True),
        sa.Column("device", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("canvasser_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["canvasser_id"],
            ["app_user.id"],
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("response_id", "number"),
        sa.UniqueConstraint("uuid"),
    )
    with op.batch_alter_table("response_revision", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_response_revision_response_id"), ["response_id"], unique=False
        )

    op.create_table(
        "review_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("from_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("to_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("item_comments", sa.JSON(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["response.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["app_user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("review_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_review_event_response_id"), ["response_id"], unique=False
        )

    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_column("revision")

    with op.batch_alter_table("review_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_review_event_response_id"))

    op.drop_table("review_event")
    with op.batch_alter_table("response_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_response_revision_response_id"))

    op.drop_table("response_revision")
    with op.batch_alter_table("quality_flag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quality_flag_wave_id"))
        batch_op.drop_index(batch_op.f("ix_quality_flag_response_id"))
        batch_op.drop_index(batch_op.f("ix_quality_flag_canvasser_id"))

    op.drop_table("quality_flag")
    with op.batch_alter_table("back_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_back_check_wave_id"))
        batch_op.drop_index(batch_op.f("ix_back_check_checker_id"))
        batch_op.drop_index(batch_op.f("ix_back_check_canvasser_id"))

    op.drop_table("back_check")
    op.drop_table("wave_quality")
