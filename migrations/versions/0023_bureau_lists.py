"""A bureau's dashboard lists: its issues in a state, in the order they were sent, read in order
from an index instead of two bitmaps (every issue the bureau leads, every issue in the state).

Revision ID: 0023_bureau_lists
Revises: 0022_bureau_counts
"""

from alembic import op

revision = "0023_bureau_lists"
down_revision = "0022_bureau_counts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_ward_issues_lead_state_sent", "ward_issues", ["lead_bureau_id", "state", "sent_at", "id"]
    )


def downgrade():
    op.drop_index("ix_ward_issues_lead_state_sent", table_name="ward_issues")
