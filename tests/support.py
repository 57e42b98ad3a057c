"""Which database the tests run on, and making sure it is there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url

from tracker import create_app
from tracker.city import masterdata
from tracker.extensions import db

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/tracker_test"


def backend() -> str:
    return os.environ.get("TEST_DB", "sqlite")


def _required() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def ensure_postgres_database(url: str) -> None:
    """Create the database if missing; fail under CI (skip locally) when PostgreSQL is down."""
    target = make_url(url).set(drivername="postgresql+psycopg")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
            ).first()
            if not exists:
                connection.exec_driver_sql(
                    f"CREATE DATABASE \"{target.database}\" ENCODING 'UTF8' TEMPLATE template0"
                )
    except Exception as error:
        message = f"PostgreSQL is not reachable at {target.render_as_string(hide_password=True)}: {error}"
        if _required():
            pytest.exit(f"CI=true requires PostgreSQL. {message}", returncode=3)
        pytest.skip(message, allow_module_level=True)
    finally:
        admin.dispose()


def database_url_for_tests(tmp_dir: Path, suffix: str = "") -> str:
    """A database for this run on the backend chosen by ``TEST_DB``; ``suffix`` names another."""
    if backend() == "postgresql":
        base = make_url(os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES))
        url = base.set(drivername="postgresql+psycopg", database=f"{base.database}{suffix}")
        rendered = url.render_as_string(hide_password=False)
        ensure_postgres_database(rendered)
        return rendered
    return f"sqlite:///{tmp_dir / f'tracker{suffix}.db'}"


def drop_database(url: str) -> None:
    """Drop a database of its own that a test made (PostgreSQL; a SQLite file goes with tmp)."""
    if backend() != "postgresql":
        return
    admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        admin.dispose()


def empty_schema(url: str) -> None:
    """Leave the database at ``url`` without a single table, whatever an earlier run left there.

    ``drop_all`` only knows today's models: a table from another branch or an interrupted run
    would survive it and break the migrations, so PostgreSQL drops the whole schema instead.
    """
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                connection.exec_driver_sql("DROP SCHEMA public CASCADE")
                connection.exec_driver_sql("CREATE SCHEMA public")
            else:
                connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
                reflected = MetaData()
                reflected.reflect(connection)
                reflected.drop_all(connection)
    finally:
        engine.dispose()


def build_app(database_url: str, instance: Path, *, demo_users: bool = False, **overrides) -> Flask:
    """An app on a fresh schema built by the migrations, with the city's master data loaded."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSTANCE_PATH", str(instance))  # create_app reads its instance folder from here
        app = create_app(
            {
                "APP_ENV": "testing",
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": database_url,
                "SECRET_KEY": "test-secret",
                "PHOTO_DIR": str(instance / "photos"),
                # Tests log admins and managers in with the password alone; the requirement of a
                # second factor for them is tested with the product's roles in tests/test_mfa.py.
                "MFA_REQUIRED_ROLES": frozenset(),
                "MAP_TILE_URL": "",  # no tile server in the tests: the maps show their markers alone
                **overrides,
            }
        )
    empty_schema(database_url)
    with app.app_context():
        upgrade()
        masterdata.load_master_data(db.session)
        if demo_users:
            masterdata.load_demo_users(db.session)
        db.session.commit()
        db.session.remove()
    return app
