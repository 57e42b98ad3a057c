"""open311: API keys, Open311 submissions (the intake queue), service profiles and attributes,
the town → center table; requests and photos may come without a member of staff

Revision ID: 0016_open311
Revises: 0015_hardening
Create Date: 2026-12-02 14:00:00

``requests.logged_by_id`` and ``photos.uploaded_by_id`` become nullable: a request that arrives
through an API key was logged by no one (its submission names the key). On SQLite,
``batch_alter_table`` rebuilds ``requests``; the search triggers of 0009 are dropped and created
again around it (a table rebuild drops them). The new source value ``app`` needs no change
(enum columns are plain strings).
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0016_open311"
down_revision = "0015_hardening"
branch_labels = None
depends_on = None


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


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


def _restore_search_triggers():
    if op.get_bind().dialect.name == "sqlite":
        for statement in _sqlite_triggers("requests"):
            op.execute(statement)


def _set_nullable(nullable):
    with op.batch_alter_table("requests") as batch_op:
        batch_op.alter_column("logged_by_id", existing_type=sa.Integer(), nullable=nullable)
    _restore_search_triggers()
    with op.batch_alter_table("photos") as batch_op:
        batch_op.alter_column("uploaded_by_id", existing_type=sa.Integer(), nullable=nullable)


def upgrade():
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("key_prefix", sa.String(12), nullable=False),
        sa.Column("center_id", sa.Integer(), sa.ForeignKey("centers.id"), nullable=True),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        _timestamp("created_at"),
        _timestamp("last_used_at", nullable=True),
        _timestamp("revoked_at", nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_api_keys_center_id", "api_keys", ["center_id"])
    op.create_table(
        "open311_submissions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("token", sa.String(36), nullable=False, unique=True),
        sa.Column("api_key_id", sa.Integer(), sa.ForeignKey("api_keys.id"), nullable=False),
        sa.Column(
            "service_request_id", sa.Integer(), sa.ForeignKey("requests.id"), nullable=True, unique=True
        ),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("categories.id"), nullable=False),
        sa.Column("ward_id", sa.Integer(), sa.ForeignKey("wards.id"), nullable=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("address_string", sa.String(200), nullable=False),
        sa.Column("address_id", sa.String(100), nullable=False),
        sa.Column("latitude", sa.Numeric(9, 6), nullable=True),
        sa.Column("longitude", sa.Numeric(9, 6), nullable=True),
        sa.Column("requester_name", sa.String(100), nullable=False),
        sa.Column("requester_contact", sa.String(200), nullable=False),
        sa.Column("device_id", sa.String(200), nullable=False),
        sa.Column("account_id", sa.String(200), nullable=False),
        sa.Column("media_url", sa.String(500), nullable=False),
        sa.Column("media", sa.JSON(), nullable=False),
        sa.Column("attributes", sa.JSON(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        _timestamp("received_at"),
        _timestamp("assigned_at", nullable=True),
        sa.Column("assigned_by_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
    )
    op.create_index("ix_open311_submissions_api_key_id", "open311_submissions", ["api_key_id"])
    op.create_index("ix_open311_submissions_ward_id", "open311_submissions", ["ward_id"])
    op.create_index(
        "ix_open311_submissions_queue",
        "open311_submissions",
        ["service_request_id", "ward_id", "received_at"],
    )
    op.create_table(
        "service_profiles",
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("categories.id"), primary_key=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("keywords", sa.String(200), nullable=False),
        sa.Column("group", sa.String(100), nullable=False),
    )
    op.create_table(
        "service_attributes",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("category_id", sa.Integer(), sa.ForeignKey("categories.id"), nullable=False),
        sa.Column("code", sa.String(50), nullable=False),
        sa.Column("datatype", sa.String(20), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(200), nullable=False),
        sa.Column("datatype_description", sa.String(200), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.UniqueConstraint("category_id", "code"),
    )
    op.create_index("ix_service_attributes_category_id", "service_attributes", ["category_id"])
    op.create_table(
        "town_centers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("town_name", sa.String(100), nullable=False, unique=True),
        sa.Column("center_id", sa.Integer(), sa.ForeignKey("centers.id"), nullable=False),
    )
    op.create_index("ix_town_centers_center_id", "town_centers", ["center_id"])
    _set_nullable(True)


def downgrade():
    _set_nullable(False)
    for table in (
        "town_centers",
        "service_attributes",
        "service_profiles",
        "open311_submissions",
        "api_keys",
    ):
        op.drop_table(table)
