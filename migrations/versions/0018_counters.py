"""counters: summary tables of requests and ward issues, for dashboards that do not scan

Revision ID: 0018_counters
Revises: 0017_triage
Create Date: 2026-12-03 06:40:00

Two indexes of requests serve the personal dashboard's lists: the open requests of a center by
due date (partial), and a user's logged requests newest first. The tables are filled from the
existing rows (the same GROUP BY as ``flask counts rebuild``,
written out here: migrations import no app code).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0018_counters"
down_revision = "0017_triage"
branch_labels = None
depends_on = None

OPEN_STATES = "'received', 'referred', 'escalated', 'handing_over'"


def _backfill(dialect: str) -> list[str]:
    if dialect == "sqlite":
        month = "date(received_on, 'start of month')"
        raw_days = "CAST(julianday(answered_on) - julianday(received_on) AS INTEGER)"
    else:
        month = "CAST(date_trunc('month', received_on) AS DATE)"
        raw_days = "(answered_on - received_on)"
    days = f"CASE WHEN {raw_days} < 0 THEN 0 ELSE {raw_days} END"
    return [
        "INSERT INTO request_state_counts (ward_id, center_id, state, count) "
        "SELECT ward_id, center_id, state, COUNT(*) FROM requests GROUP BY ward_id, center_id, state",
        "INSERT INTO request_month_counts (ward_id, fiscal_year, received_month, count) "
        f"SELECT ward_id, fiscal_year, {month}, COUNT(*) FROM requests GROUP BY ward_id, fiscal_year, {month}",
        "INSERT INTO open_request_due (center_id, answer_due_on, state, ward_id, count) "
        "SELECT center_id, answer_due_on, state, ward_id, COUNT(*) FROM requests "
        f"WHERE state IN ({OPEN_STATES}) GROUP BY center_id, answer_due_on, state, ward_id",
        "INSERT INTO answer_days (ward_id, fiscal_year, days, count) "
        f"SELECT ward_id, fiscal_year, {days}, COUNT(*) FROM requests "
        f"WHERE state = 'answered' AND answered_on IS NOT NULL GROUP BY ward_id, fiscal_year, {days}",
        "INSERT INTO issue_counts (ward_id, fiscal_year, state, decision, count) "
        "SELECT ward_id, fiscal_year, state, COALESCE(decision, ''), COUNT(*) FROM ward_issues "
        "GROUP BY ward_id, fiscal_year, state, COALESCE(decision, '')",
    ]


def upgrade():
    op.create_table(
        "request_state_counts",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ward_id", "center_id", "state", name="pk_request_state_counts"),
    )
    op.create_table(
        "request_month_counts",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("received_month", sa.Date(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ward_id", "fiscal_year", "received_month", name="pk_request_month_counts"),
    )
    op.create_index("ix_request_month_counts_month", "request_month_counts", ["received_month"])
    op.create_table(
        "open_request_due",
        sa.Column("center_id", sa.Integer(), nullable=False),
        sa.Column("answer_due_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("center_id", "answer_due_on", "state", "ward_id", name="pk_open_request_due"),
    )
    op.create_index("ix_open_request_due_due", "open_request_due", ["answer_due_on"])
    op.create_table(
        "answer_days",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ward_id", "fiscal_year", "days", name="pk_answer_days"),
    )
    op.create_table(
        "issue_counts",
        sa.Column("ward_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("decision", sa.String(32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("ward_id", "fiscal_year", "state", "decision", name="pk_issue_counts"),
    )
    op.create_index("ix_issue_counts_fiscal_year", "issue_counts", ["fiscal_year"])
    op.create_index(
        "ix_requests_open_center_due",
        "requests",
        ["center_id", "answer_due_on", "id"],
        postgresql_where=sa.text(f"state IN ({OPEN_STATES})"),
        sqlite_where=sa.text(f"state IN ({OPEN_STATES})"),
    )
    op.create_index("ix_requests_logged_created_id", "requests", ["logged_by_id", "created_at", "id"])
    for statement in _backfill(op.get_bind().dialect.name):
        op.execute(statement)


def downgrade():
    op.drop_index("ix_requests_logged_created_id", table_name="requests")
    op.drop_index("ix_requests_open_center_due", table_name="requests")
    op.drop_index("ix_issue_counts_fiscal_year", table_name="issue_counts")
    op.drop_table("issue_counts")
    op.drop_table("answer_days")
    op.drop_index("ix_open_request_due_due", table_name="open_request_due")
    op.drop_table("open_request_due")
    op.drop_index("ix_request_month_counts_month", table_name="request_month_counts")
    op.drop_table("request_month_counts")
    op.drop_table("request_state_counts")
