"""setup: user scope (UserScope), supervisor role, forced password change, active flags on
districts/streets/communities, questionnaire versions with their full source

Existing secretaries and canvassers get one ``user_scope`` row for their community, so
scope answers stay what they were.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 07:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_scope",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("community_id", sa.Integer(), nullable=True),
        sa.Column("street_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(community_id IS NULL) <> (street_id IS NULL)", name="ck_user_scope_one_unit"
        ),
        sa.ForeignKeyConstraint(["community_id"], ["community.id"]),
        sa.ForeignKeyConstraint(["street_id"], ["street.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["app_user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "community_id", "street_id"),
    )
    with op.batch_alter_table("user_scope", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_user_scope_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_user_scope_community_id"), ["community_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_user_scope_street_id"), ["street_id"], unique=False)

    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )
    for table in ("district", "street", "community"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("active", sa.Boolean(), server_default=sa.true(), nullable=False)
            )
    with op.batch_alter_table("instrumentversion", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("title", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("published_by", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            "fk_instrumentversion_published_by", "app_user", ["published_by"], ["id"]
        )

    op.execute(
        "INSERT INTO user_scope (user_id, community_id) "
        "SELECT id, community_id FROM app_user WHERE community_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("instrumentversion", schema=None) as batch_op:
        batch_op.drop_constraint("fk_instrumentversion_published_by", type_="foreignkey")
        batch_op.drop_column("published_by")
        batch_op.drop_column("title")
        batch_op.drop_column("source")
    for table in ("community", "street", "district"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("active")
    with op.batch_alter_table("app_user", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
    with op.batch_alter_table("user_scope", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_user_scope_street_id"))
        batch_op.drop_index(batch_op.f("ix_user_scope_community_id"))
        batch_op.drop_index(batch_op.f("ix_user_scope_user_id"))
    op.drop_table("user_scope")
