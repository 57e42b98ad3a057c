"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate.cli import db as db_command

from tracker import PROJECT_ROOT, create_app
from tracker import models as _models  # noqa: F401  (registers every table on db.metadata)
from tracker.extensions import db
from tracker.finding import search

from .support import database_url_for_tests, drop_database, empty_schema

HEAD = ScriptDirectory(str(PROJECT_ROOT / "migrations")).get_current_head()
MODEL_TABLES = {
    "wards",
    "centers",
    "bureaus",
    "categories",
    "users",
    "reference_counters",
    "requests",
    "ward_issues",
    "ward_issue_related_bureaus",
    "budget_lines",
    "ward_funds",
    "progress_notes",
    "photos",
    "job_outbox",
    "history_events",
    "import_batches",
    "notifications",
    "reminder_digests",
    "audit_chain_head",
    "personal_data_accesses",
    "city_settings",
    "comments",
    "attachments",
    "issue_opinions",
    "issue_inquiries",
    "good_practices",
    "budget_calendars",
    "activity_kinds",
    "community_organisations",
    "activities",
    "activity_liaisons",
    "indicators",
    "indicator_targets",
    "indicator_values",
    "user_mfa",
    "recovery_codes",
    "security_events",
    "login_throttles",
    "personal_data_grants",
    "issue_publications",
    "api_keys",
    "answer_templates",
    "open311_submissions",
    "service_profiles",
    "service_attributes",
    "town_centers",
    "request_state_counts",
    "request_month_counts",
    "open_request_due",
    "answer_days",
    "issue_counts",
    "activity_counts",
    "gathered_counts",
    "bureau_issue_counts",
    "issue_year_figures",
    "issue_budget_lines",
    "issue_budget_yen",
}


def schema_differences(connection) -> list:
    filters = search.autogenerate_filters(connection.dialect.name)  # as migrations/env.py does
    context = MigrationContext.configure(connection, opts={"compare_type": True, **filters})
    return compare_metadata(context, db.metadata)


def test_models_declare_the_expected_tables():
    assert set(db.metadata.tables) >= MODEL_TABLES


def test_autogenerate_finds_no_difference_between_models_and_migrations(app):
    with app.app_context(), db.engine.connect() as connection:
        assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
        assert schema_differences(connection) == []


@pytest.fixture
def empty_database(tmp_path) -> Iterator[str]:
    """The URL of a database of its own with no tables; dropped afterwards on PostgreSQL."""
    url = database_url_for_tests(tmp_path, suffix="_migrations")
    empty_schema(url)
    engine = sa.create_engine(url)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
    yield url
    drop_database(url)


def test_flask_db_upgrade_from_empty_database_builds_exactly_the_model_tables(
    empty_database, tmp_path, monkeypatch
):
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    application = create_app(
        {
            "APP_ENV": "testing",
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": empty_database,
            "SECRET_KEY": "test-secret",
            "PHOTO_DIR": str(tmp_path / "instance" / "photos"),
        }
    )
    runner = application.test_cli_runner()
    try:
        result = runner.invoke(db_command, ["upgrade"])  # flask db upgrade
        assert result.exit_code == 0, result.output
        with application.app_context(), db.engine.connect() as connection:
            all_tables = set(sa.inspect(connection).get_table_names())
            tables = {name for name in all_tables if not search.is_index_table(name)}
            if connection.dialect.name == "sqlite":  # the search's FTS5 tables, beside the models
                assert {"requests_fts", "ward_issues_fts"} <= all_tables
            assert tables == set(db.metadata.tables) | {"alembic_version"}
            assert tables - {"alembic_version"} == MODEL_TABLES
            assert connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar_one() == HEAD
            assert schema_differences(connection) == []

        result = runner.invoke(db_command, ["downgrade", "base"])  # and it can be undone
        assert result.exit_code == 0, result.output
        with application.app_context(), db.engine.connect() as connection:
            assert set(sa.inspect(connection).get_table_names()) == {"alembic_version"}
    finally:
        with application.app_context():
            db.engine.dispose()
