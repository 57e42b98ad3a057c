"""list indexes: the filters of the lists and the keyset orders (sort column, id)

Revision ID: 0010_list_indexes
Revises: 0009_search
Create Date: 2026-11-22 08:00:00

Plain CREATE INDEX on both databases (no table rebuild, so the SQLite search triggers of
0009 stay as they are).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010_list_indexes'
down_revision = '0009_search'
branch_labels = None
depends_on = None

INDEXES = {
    "requests": {
        "ix_requests_ward_state_due": ["ward_id", "state", "answer_due_on"],
        "ix_requests_ward_received_id": ["ward_id", "received_on", "id"],
        "ix_requests_ward_due_id": ["ward_id", "answer_due_on", "id"],
        "ix_requests_ward_updated_id": ["ward_id", "updated_at", "id"],
        "ix_requests_center_received_id": ["center_id", "received_on", "id"],
        "ix_requests_received_id": ["received_on", "id"],
        "ix_requests_due_id": ["answer_due_on", "id"],
        "ix_requests_updated_id": ["updated_at", "id"],
    },
    "ward_issues": {
        "ix_ward_issues_ward_fiscal_year_id": ["ward_id", "fiscal_year", "id"],
        "ix_ward_issues_ward_updated_id": ["ward_id", "updated_at", "id"],
        "ix_ward_issues_fiscal_year_id": ["fiscal_year", "id"],
        "ix_ward_issues_updated_id": ["updated_at", "id"],
        "ix_ward_issues_decided_id": ["decided_on", "id"],
        "ix_ward_issues_lead_sent_id": ["lead_bureau_id", "sent_at", "id"],
    },
}


def upgrade():
    for table, indexes in INDEXES.items():
        for name, columns in indexes.items():
            op.create_index(name, table, columns, unique=False)


def downgrade():
    for table, indexes in INDEXES.items():
        for name in indexes:
            op.drop_index(name, table_name=table)
