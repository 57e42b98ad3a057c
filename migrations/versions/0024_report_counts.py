"""The fiscal-year report's figures as summary rows: ward issues per (fiscal year, ward, lead
bureau, state, decision, budgeted) and the current bureau budget lines, counted and summed in yen,
per (the line's fiscal year, its issue's ward and lead bureau), kept by
``tracker.effects.report_counters`` and filled here from the existing rows; and an index that
lets the report's list of projects join the year's budget lines with their issues without
reading every issue's row.

Revision ID: 0024_report_counts
Revises: 0023_bureau_lists
"""

import sqlalchemy as sa
from alembic import op

revision = "0024_report_counts"
down_revision = "0023_bureau_lists"
branch_labels = None
depends_on = None

CURRENT = "budget_lines.funding = 'bureau' AND budget_lines.cancelled_at IS NULL"
BUDGETED = (
    "CASE WHEN ward_issues.within_existing_budget OR EXISTS (SELECT 1 FROM budget_lines "
    f"WHERE budget_lines.ward_issue_id = ward_issues.id AND {CURRENT}) THEN 1 ELSE 0 END"
)
ISSUE_KEY = f"fiscal_year, ward_id, COALESCE(lead_bureau_id, 0), state, COALESCE(decision, ''), {BUDGETED}"
LINE_KEY = "budget_lines.fiscal_year, ward_issues.ward_id, COALESCE(ward_issues.lead_bureau_id, 0)"
LINES = f"FROM budget_lines JOIN ward_issues ON budget_lines.ward_issue_id = ward_issues.id WHERE {CURRENT}"
LINE_COLUMNS = ("fiscal_year", "ward_id", "lead_bureau_id")


def _key_columns(names):
    return [sa.Column(name, sa.Integer(), nullable=False) for name in names]


def upgrade():
    op.create_table(
        "issue_year_figures",
        *_key_columns(("fiscal_year", "ward_id", "lead_bureau_id")),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=32), nullable=False),
        sa.Column("budgeted", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "fiscal_year",
            "ward_id",
            "lead_bureau_id",
            "state",
            "decision",
            "budgeted",
            name="pk_issue_year_figures",
        ),
    )
    op.create_table(
        "issue_budget_lines",
        *_key_columns(LINE_COLUMNS),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(*LINE_COLUMNS, name="pk_issue_budget_lines"),
    )
    op.create_table(
        "issue_budget_yen",
        *_key_columns(LINE_COLUMNS),
        sa.Column("allocated_yen", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(*LINE_COLUMNS, name="pk_issue_budget_yen"),
    )
    op.execute(
        "INSERT INTO issue_year_figures "
        "(fiscal_year, ward_id, lead_bureau_id, state, decision, budgeted, count) "
        f"SELECT {ISSUE_KEY}, COUNT(*) FROM ward_issues GROUP BY {ISSUE_KEY}"
    )
    op.execute(
        "INSERT INTO issue_budget_lines (fiscal_year, ward_id, lead_bureau_id, count) "
        f"SELECT {LINE_KEY}, COUNT(*) {LINES} GROUP BY {LINE_KEY}"
    )
    op.execute(
        "INSERT INTO issue_budget_yen (fiscal_year, ward_id, lead_bureau_id, allocated_yen) "
        f"SELECT {LINE_KEY}, SUM(budget_lines.allocated_yen) {LINES} GROUP BY {LINE_KEY}"
    )
    op.create_index(
        "ix_ward_issues_project_keys", "ward_issues", ["id", "ward_id", "lead_bureau_id", "reference"]
    )


def downgrade():
    op.drop_index("ix_ward_issues_project_keys", table_name="ward_issues")
    op.drop_table("issue_budget_yen")
    op.drop_table("issue_budget_lines")
    op.drop_table("issue_year_figures")
