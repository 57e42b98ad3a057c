"""short words: a GIN index of the 1- and 2-character grams of each search_text (PostgreSQL)

Revision ID: 0019_short_words
Revises: 0018_counters
Create Date: 2026-12-03 06:30:00

pg_trgm's index serves terms of 3+ characters only, and Japanese words are often shorter
(鉄塔, 街灯, 灯). PostgreSQL gets an IMMUTABLE SQL function ``search_grams(text)``: the
unigrams and bigrams of a (normalised) search text, none with a space, and on each searched
table an expression GIN index over ``search_grams(search_text)``. The database fills it on
every write path (the ORM, bulk INSERT, COPY) and builds it for the existing rows here. No
column is stored: a generated column of the grams made a table of 300,000 short requests grow
from 123 MB to 470 MB, where the index is 43 MB.
SQLite: nothing (its FTS5 / LIKE path is correct for every length).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0019_short_words"
down_revision = "0018_counters"
branch_labels = None
depends_on = None

TABLES = ("requests", "ward_issues")

# The text is normalised already (tracker.finding.search.normalize: one ASCII space between
# words), so a gram with a space in it is never a search term and is left out. The characters
# come from string_to_array(t, NULL), the bigrams from it zipped with itself shifted by one (the
# last pair has a NULL, which strpos drops); repeats stay in the array, since GIN keeps each key
# once per row anyway: three times faster than generate_series and DISTINCT when building.
GRAMS_FUNCTION = """
CREATE OR REPLACE FUNCTION search_grams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(g), '{}'::text[])
  FROM (
    SELECT c AS g FROM unnest(string_to_array(t, NULL)) AS c
    UNION ALL
    SELECT a || b FROM unnest(string_to_array(t, NULL), string_to_array(substr(t, 2), NULL)) AS p(a, b)
  ) AS grams
  WHERE strpos(g, ' ') = 0
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(GRAMS_FUNCTION)
    for table in TABLES:
        op.execute(f"CREATE INDEX ix_{table}_search_grams ON {table} USING gin (search_grams(search_text))")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in TABLES:
        op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_grams")
    op.execute("DROP FUNCTION IF EXISTS search_grams(text)")
