"""No insecure signing key survives deployment: outside a development run (a ``flask`` command)
and the tests, the app refuses to start without a strong ``SECRET_KEY``, whatever ``APP_ENV``
says. Before this, ``APP_ENV`` left unset under gunicorn started with a published key."""

from __future__ import annotations

import secrets

import click
import pytest

from tracker.config import ConfigError, load_config

STRONG = secrets.token_hex(32)


@pytest.fixture(autouse=True)
def no_key_in_environment(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("APP_ENV", raising=False)


@pytest.mark.parametrize("app_env", ["development", "production", "staging"])
def test_served_without_a_key_it_refuses_to_start_whatever_app_env_says(tmp_path, app_env):
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config(str(tmp_path), {"APP_ENV": app_env})


@pytest.mark.parametrize("key", ["dev-only-not-secret", "test-secret", "x" * 40, "short-but-random-7f3a"])
@pytest.mark.parametrize("app_env", ["development", "production"])
def test_served_with_a_known_or_weak_key_it_refuses_to_start(tmp_path, key, app_env):
    with pytest.raises(ConfigError, match="too weak or a published example"):
        load_config(str(tmp_path), {"APP_ENV": app_env, "SECRET_KEY": key})


def test_a_strong_key_starts_in_production(tmp_path):
    config = {"APP_ENV": "production", "SECRET_KEY": STRONG, "AUDIT_KEY": secrets.token_hex(32)}
    assert load_config(str(tmp_path), config)["SECRET_KEY"] == STRONG


def test_a_development_run_without_a_key_gets_a_random_one_per_process(tmp_path):
    with click.Context(click.Command("run")):
        first = load_config(str(tmp_path), {"APP_ENV": "development"})["SECRET_KEY"]
        second = load_config(str(tmp_path), {"APP_ENV": "development"})["SECRET_KEY"]
    assert len(first) == 64 and first != second


def test_a_development_run_may_use_a_known_key_but_production_never(tmp_path):
    with click.Context(click.Command("run")):
        assert load_config(str(tmp_path), {"SECRET_KEY": "dev-only-not-secret"})["SECRET_KEY"]
        with pytest.raises(ConfigError):
            load_config(str(tmp_path), {"APP_ENV": "production", "SECRET_KEY": "dev-only-not-secret"})


def test_testing_is_set_in_code_only_never_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TESTING", "true")
    monkeypatch.setenv("APP_ENV", "testing")
    with pytest.raises(ConfigError):
        load_config(str(tmp_path), {"SECRET_KEY": "test-secret"})
    assert (
        load_config(str(tmp_path), {"SECRET_KEY": "test-secret", "TESTING": True})["SECRET_KEY"]
        == "test-secret"
    )
