"""The field work's summary tables: activities, and the requests gathered in them, per the
activity's ward and fiscal year (kept by ``tracker.effects.activity_counters``); filled here
from the existing rows, so the published figures read a few rows instead of every activity.

Revision ID: 0021_field_work_counts
Revises: 0020_similar_issues
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_field_work_counts"
down_revision = "0020_similar_issues"
branch_labels = None
depends_on = None

TABLES = ("activity_counts", "gathered_counts")


def upgrade():
    for name in TABLES:
        op.create_table(
            name,
            sa.Column("ward_id", sa.Integer(), nullable=False),
            sa.Column("fiscal_year", sa.Integer(), nullable=False),
            sa.Column("count", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("ward_id", "fiscal_year", name=f"pk_{name}"),
        )
    op.execute(
        "INSERT INTO activity_counts (ward_id, fiscal_year, count) "
        "SELECT ward_id, fiscal_year, COUNT(*) FROM activities GROUP BY ward_id, fiscal_year"
    )
    op.execute(
        "INSERT INTO gathered_counts (ward_id, fiscal_year, count) "
        "SELECT activities.ward_id, activities.fiscal_year, COUNT(*) FROM requests "
        "JOIN activities ON activities.id = requests.activity_id "
        "GROUP BY activities.ward_id, activities.fiscal_year"
    )


def downgrade():
    for name in reversed(TABLES):
        op.drop_table(name)
