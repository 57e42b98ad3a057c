"""search: normalised search_text (trigram-indexed), requests.duplicate_of_id

Revision ID: 0009_search
Revises: 0008_versions
Create Date: 2026-11-22 07:20:00

PostgreSQL: pg_trgm and a GIN trigram index on each search_text. SQLite: an FTS5 table with
the trigram tokenizer over each search_text (external content), kept current by triggers.

Note for later migrations on SQLite: a batch operation that rebuilds ``requests`` or
``ward_issues`` (move and copy) drops that table's triggers; recreate them afterwards with
the statements of ``_sqlite_triggers`` below (the FTS table itself survives: ids are kept).
"""

import unicodedata

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0009_search"
down_revision = "0008_versions"
branch_labels = None
depends_on = None

BATCH = 1000
TABLES = {
    "requests": ("reference", "title", "description", "location_text", "organisation"),
    "ward_issues": ("reference", "title", "situation", "proposal"),
}


def _normalize(text):
    """The same as tracker.search.normalize (migrations import no app code)."""
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return " ".join(folded.split())


def _backfill(table, fields):
    connection = op.get_bind()
    rows = sa.table(table, sa.column("id"), sa.column("search_text"), *(sa.column(f) for f in fields))
    last = 0
    while True:
        batch = connection.execute(
            sa.select(rows.c.id, *(rows.c[f] for f in fields))
            .where(rows.c.id > last)
            .order_by(rows.c.id)
            .limit(BATCH)
        ).all()
        if not batch:
            break
        for row in batch:
            text = " ".join(p for p in (_normalize(getattr(row, f)) for f in fields) if p)
            if text:
                connection.execute(rows.update().where(rows.c.id == row.id).values(search_text=text))
        last = batch[-1].id


def _sqlite_triggers(table):
    fts = f"{table}_fts"
    return [
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF search_text ON {table} BEGIN "
        f"INSERT INTO {fts}({fts}, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
        f"INSERT INTO {fts}(rowid, search_text) VALUES (new.id, new.search_text); END",
    ]


def upgrade():
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(sa.Column("duplicate_of_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_requests_duplicate_of_id"), ["duplicate_of_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_requests_duplicate_of_id_requests"), "requests", ["duplicate_of_id"], ["id"]
        )

    with op.batch_alter_table("ward_issues", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))

    for table, fields in TABLES.items():
        _backfill(table, fields)

    if dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for table in TABLES:
            op.create_index(
                f"ix_{table}_search_text_trgm",
                table,
                ["search_text"],
                unique=False,
                postgresql_using="gin",
                postgresql_ops={"search_text": "gin_trgm_ops"},
            )
    elif dialect == "sqlite":
        for table in TABLES:
            fts = f"{table}_fts"
            op.execute(
                f"CREATE VIRTUAL TABLE {fts} USING fts5(search_text, content='{table}', "
                f"content_rowid='id', tokenize='trigram')"
            )
            op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")
            for statement in _sqlite_triggers(table):
                op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for table in TABLES:
            op.drop_index(f"ix_{table}_search_text_trgm", table_name=table)
        # pg_trgm stays: other databases objects may use it, and it holds no data.
    elif dialect == "sqlite":
        for table in TABLES:
            fts = f"{table}_fts"
            for suffix in ("ai", "ad", "au"):
                op.execute(f"DROP TRIGGER IF EXISTS {fts}_{suffix}")
            op.execute(f"DROP TABLE IF EXISTS {fts}")

    with op.batch_alter_table("ward_issues", schema=None) as batch_op:
        batch_op.drop_column("search_text")

    with op.batch_alter_table("requests", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_requests_duplicate_of_id_requests"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_requests_duplicate_of_id"))
        batch_op.drop_column("duplicate_of_id")
        batch_op.drop_column("search_text")
