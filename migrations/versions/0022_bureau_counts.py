"""The bureaus' inbox counts: ward issues sent to the bureaus, per bureau that sees them (lead or
related, once each) and state (kept by ``tracker.effects.bureau_counters``); filled here from
the existing rows, so a bureau's dashboard reads a few rows instead of testing every issue.

Revision ID: 0022_bureau_counts
Revises: 0021_field_work_counts
"""

import sqlalchemy as sa
from alembic import op

revision = "0022_bureau_counts"
down_revision = "0021_field_work_counts"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "bureau_issue_counts",
        sa.Column("bureau_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bureau_id", "state", name="pk_bureau_issue_counts"),
    )
    op.execute(
        "INSERT INTO bureau_issue_counts (bureau_id, state, count) "
        "SELECT bureau_id, state, COUNT(*) FROM ("
        "SELECT id, state, lead_bureau_id AS bureau_id FROM ward_issues "
        "WHERE sent_at IS NOT NULL AND lead_bureau_id IS NOT NULL "
        "UNION SELECT ward_issues.id, ward_issues.state, ward_issue_related_bureaus.bureau_id "
        "FROM ward_issues JOIN ward_issue_related_bureaus "
        "ON ward_issue_related_bureaus.ward_issue_id = ward_issues.id "
        "WHERE ward_issues.sent_at IS NOT NULL) AS seen GROUP BY bureau_id, state"
    )


def downgrade():
    op.drop_table("bureau_issue_counts")
