"""covering index on indicatortotal (wave, street, building, n) for the result pages

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 02:00:00
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("indicatortotal", schema=None) as batch_op:
        batch_op.create_index(
            "ix_indicatortotal_wave_street_psu",
            ["wave_id", "street_id", "building_id", "n"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("indicatortotal", schema=None) as batch_op:
        batch_op.drop_index("ix_indicatortotal_wave_street_psu")
