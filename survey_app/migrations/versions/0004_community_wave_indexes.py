"""indexes (community_id, wave_id) on response and assignment for the secretary page

Without them SQLite picks the wave_id index and scans a whole wave (400,000 rows in the
page benchmark) to count one community's progress.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 02:15:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.create_index("ix_response_community_wave", ["community_id", "wave_id"])
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.create_index("ix_assignment_community_wave", ["community_id", "wave_id"])


def downgrade() -> None:
    with op.batch_alter_table("assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_assignment_community_wave")
    with op.batch_alter_table("response", schema=None) as batch_op:
        batch_op.drop_index("ix_response_community_wave")
