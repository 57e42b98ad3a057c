"""triage: a request's priority (緊急度) and person in charge (担当者); the wards' answer templates (定型文)

Revision ID: 0017_triage
Revises: 0016_open311
Create Date: 2026-12-02 18:20:00

Existing requests get priority ``medium`` (中). On SQLite, ``batch_alter_table`` rebuilds
``requests``; the search triggers of 0009 are dropped and created again around it (a table
rebuild drops them).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_triage"
down_revision = "0016_open311"
branch_labels = None
depends_on = None


def _sqlite_triggers(table):
    """The search triggers of 0009 for ``table`` (migrations import no app code, nor each other)."""
    fts = f"{table}_fts"
    return [
        f"DROP TRIGGER IF EXISTS {fts}_ai",
        f"DROP TRIGGER IF EXISTS {fts}_ad",
        f"DROP TRIGGER IF EXISTS {fts}_au",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_text ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
    ]


def _restore_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for statement in _sqlite_triggers("requests"):
            op.execute(statement)


def upgrade():
    priority = sa.Enum("high", "medium", "low", name="priority", native_enum=False, length=32)
    with op.batch_alter_table("requests") as batch:
        batch.add_column(sa.Column("priority", priority, nullable=False, server_default="medium"))
        batch.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_requests_assignee_id_users", "users", ["assignee_id"], ["id"])
        batch.create_index("ix_requests_assignee_id", ["assignee_id"])
        batch.create_index("ix_requests_ward_priority_id", ["ward_id", "priority", "id"])
        batch.create_index("ix_requests_center_priority_id", ["center_id", "priority", "id"])
    _restore_triggers()

    op.create_table(
        "answer_templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("wards.id"), nullable=False),
        sa.Column("title", sa.String(80), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_answer_templates_ward_id", "answer_templates", ["ward_id"])


def downgrade():
    op.drop_index("ix_answer_templates_ward_id", table_name="answer_templates")
    op.drop_table("answer_templates")
    with op.batch_alter_table("requests") as batch:
        batch.drop_index("ix_requests_center_priority_id")
        batch.drop_index("ix_requests_ward_priority_id")
        batch.drop_index("ix_requests_assignee_id")
        batch.drop_constraint("fk_requests_assignee_id_users", type_="foreignkey")
        batch.drop_column("assignee_id")
        batch.drop_column("priority")
    _restore_triggers()
