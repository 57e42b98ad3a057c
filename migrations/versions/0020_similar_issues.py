"""Requests bundled in an issue, indexed by category: the other wards' similar issues read the
issues sharing a category from this small partial index instead of testing every issue.

Revision ID: 0020_similar_issues
Revises: 0019_short_words
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_similar_issues"
down_revision = "0019_short_words"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_requests_category_issue",
        "requests",
        ["category_id", "ward_issue_id"],
        postgresql_where=sa.text("ward_issue_id IS NOT NULL"),
        sqlite_where=sa.text("ward_issue_id IS NOT NULL"),
    )


def downgrade():
    op.drop_index("ix_requests_category_issue", table_name="requests")
