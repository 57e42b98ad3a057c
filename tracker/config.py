"""Settings read from environment variables, with embedded defaults for a bare machine.

With no settings the app runs on SQLite in ``instance/`` and does background work inline.
``SECRET_KEY`` and ``AUDIT_KEY`` have no default when served: see ``check_secret_key``.
"""

import os
import secrets
from pathlib import Path

import click

# Keys that have been written down somewhere (docs, examples, old defaults, the tests): whoever
# read them could sign a session cookie. Refused outside a development run and the tests.
KNOWN_KEYS = frozenset(
    {"dev-only-not-secret", "test-secret", "bench", "secret", "changeme", "change-me", "development", "dev"}
)
DEVELOPMENT_AUDIT_KEY = "development-audit-key-published-in-the-source-never-secret"
MIN_KEY_LENGTH = 32
MIN_DISTINCT_CHARACTERS = 12


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which and how to fix it."""


def load_config(instance_path: str, overrides: dict | None = None) -> dict:
    env = os.environ
    app_env = (overrides or {}).get("APP_ENV") or env.get("APP_ENV", "development")
    sqlite_path = Path(instance_path) / "tracker.db"
    config = {
        "APP_ENV": app_env,
        "SECRET_KEY": env.get("SECRET_KEY"),
        # Previous keys, comma-separated: sessions signed with one of them still verify
        # (and are re-signed with SECRET_KEY) while a key is rotated. See docs/operations.md.
        "SECRET_KEY_FALLBACKS": [
            key.strip() for key in env.get("SECRET_KEY_FALLBACKS", "").split(",") if key.strip()
        ],
        # The HMAC key of the history's hash chain (never in the database), and retired keys whose
        # events must still verify, comma-separated. See tracker/safeguards/audit_keys.py.
        "AUDIT_KEY": env.get("AUDIT_KEY"),
        "AUDIT_KEY_FALLBACKS": [
            key.strip() for key in env.get("AUDIT_KEY_FALLBACKS", "").split(",") if key.strip()
        ],
        # The last history event written before the chain was keyed (an upgrade's one-off; 0 when new).
        "AUDIT_UNKEYED_UNTIL": int(env.get("AUDIT_UNKEYED_UNTIL", "0")),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL", f"sqlite:///{sqlite_path}"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "RQ_QUEUE": env.get("RQ_QUEUE", "tracker"),
        "TIMEZONE": env.get("TIMEZONE", "Asia/Tokyo"),
        "CITY_NAME": env.get("CITY_NAME", "熊本市"),
        "ANSWER_DUE_DAYS": int(env.get("ANSWER_DUE_DAYS", "14")),
        # The Open311 jurisdiction this server answers for; another ``jurisdiction_id`` is a 404.
        "OPEN311_JURISDICTION_ID": env.get("OPEN311_JURISDICTION_ID", "city.kumamoto.jp"),
        "PHOTO_MAX_BYTES": int(env.get("PHOTO_MAX_BYTES", str(8 * 1024 * 1024))),
        "PHOTO_MAX_COUNT": int(env.get("PHOTO_MAX_COUNT", "5")),
        "PHOTO_DIR": env.get("PHOTO_DIR", str(Path(instance_path) / "photos")),
        # Files on a request or an issue (PDF, images, Office documents): size each, count per subject.
        "ATTACHMENT_MAX_BYTES": int(env.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024))),
        "ATTACHMENT_MAX_COUNT": int(env.get("ATTACHMENT_MAX_COUNT", "20")),
        "ATTACHMENT_DIR": env.get("ATTACHMENT_DIR", str(Path(instance_path) / "attachments")),
        # Photos chosen on a new-request form that came back refused, kept for its next submit.
        "PHOTO_HOLD_DIR": env.get("PHOTO_HOLD_DIR", str(Path(instance_path) / "photo_hold")),
        "IMPORT_DIR": env.get("IMPORT_DIR", str(Path(instance_path) / "imports")),
        "IMPORT_MAX_BYTES": int(env.get("IMPORT_MAX_BYTES", str(20 * 1024 * 1024))),
        "REPORT_DIR": env.get("REPORT_DIR", str(Path(instance_path) / "reports")),
        # A list export of more rows than this is made by a background job (its page shows the
        # progress and the download); up to it, the file is streamed at once.
        "EXPORT_INLINE_MAX_ROWS": int(env.get("EXPORT_INLINE_MAX_ROWS", "20000")),
        "EXPORT_DIR": env.get("EXPORT_DIR", str(Path(instance_path) / "exports")),
        # Files the export jobs made are deleted daily once they are this old.
        "EXPORT_RETENTION_DAYS": int(env.get("EXPORT_RETENTION_DAYS", "7")),
        # Requester name and contact of a request closed this long ago are erased (default 3 years).
        "PERSONAL_DATA_RETENTION_DAYS": int(env.get("PERSONAL_DATA_RETENTION_DAYS", "1095")),
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": env.get("TIMEZONE", "Asia/Tokyo"),
        "LANGUAGES": ("ja", "en"),
        "PAGE_SIZE": int(env.get("PAGE_SIZE", "50")),
        # Adds X-SQL-Statements (the statements a request ran) to every response: ``make bench``.
        "SQL_STATEMENT_HEADER": env.get("SQL_STATEMENT_HEADER", "").lower() in ("1", "true", "yes", "on"),
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000"),
        "MAIL_SERVER": env.get("MAIL_SERVER") or None,
        "MAIL_PORT": int(env.get("MAIL_PORT", "587")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": env.get("MAIL_USE_TLS", "true").lower() in ("1", "true", "yes", "on"),
        "MAIL_FROM": env.get("MAIL_FROM", "tracker@localhost"),
        "MAIL_DIR": env.get("MAIL_DIR", str(Path(instance_path) / "mail")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": app_env == "production",
        # A session unused this long is logged out (checked on each request, see auth.py).
        "IDLE_TIMEOUT_MINUTES": int(env.get("IDLE_TIMEOUT_MINUTES", "30")),
        # Login throttling (safeguards/throttle.py), shared through Redis or else the database:
        # failures of one (login ID, address) pair before the delay starts, then doubling up to
        # the cap; and failures of one address (any login IDs) before that address is slowed.
        "LOGIN_THROTTLE_FREE_FAILURES": int(env.get("LOGIN_THROTTLE_FREE_FAILURES", "5")),
        "LOGIN_THROTTLE_MAX_DELAY_SECONDS": int(env.get("LOGIN_THROTTLE_MAX_DELAY_SECONDS", "900")),
        "LOGIN_THROTTLE_ADDRESS_FAILURES": int(env.get("LOGIN_THROTTLE_ADDRESS_FAILURES", "100")),
        # Security events (logins, 403s, reveals, exports...) older than this are deleted daily.
        "SECURITY_LOG_RETENTION_DAYS": int(env.get("SECURITY_LOG_RETENTION_DAYS", "400")),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none).
        "TRUSTED_PROXY_COUNT": int(env.get("TRUSTED_PROXY_COUNT", "0")),
        "WTF_CSRF_TIME_LIMIT": None,
        # The maps' base tiles ({z}/{x}/{y}); empty: the maps show their markers on a blank
        # background (no request leaves for a tile server). The CSP's img-src allows its host.
        "MAP_TILE_URL": env.get("MAP_TILE_URL", "https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"),
        # The attribution the tile provider requires, shown on every map (trusted HTML).
        "MAP_TILE_ATTRIBUTION": env.get(
            "MAP_TILE_ATTRIBUTION", '<a href="https://maps.gsi.go.jp/development/ichiran.html">国土地理院</a>'
        ),
    }
    largest_upload = max(
        config["PHOTO_MAX_BYTES"] * config["PHOTO_MAX_COUNT"],
        config["IMPORT_MAX_BYTES"],
        config["ATTACHMENT_MAX_BYTES"],
    )
    config["MAX_CONTENT_LENGTH"] = largest_upload + 1024**2
    config.update(overrides or {})
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgres://"):
        config["SQLALCHEMY_DATABASE_URI"] = "postgresql://" + config["SQLALCHEMY_DATABASE_URI"][11:]
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://"):
        config["SQLALCHEMY_DATABASE_URI"] = config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    development_run = is_development_run(config)
    config["SECRET_KEY"] = check_secret_key(config, development_run=development_run)
    config["AUDIT_KEY"] = check_audit_key(config, development_run=development_run)
    return config


def is_development_run(config: dict) -> bool:
    """A development run: a ``flask`` command (``flask run`` / ``make run``, seeding, migrating)
    outside production. gunicorn (``wsgi.py``) is never one, whatever ``APP_ENV`` says."""
    return config["APP_ENV"] != "production" and click.get_current_context(silent=True) is not None


def is_strong_key(key: str) -> bool:
    """Long, varied and never published: what a key from ``secrets.token_hex(32)`` is."""
    return len(key) >= MIN_KEY_LENGTH and len(set(key)) >= MIN_DISTINCT_CHARACTERS and key not in KNOWN_KEYS


def check_audit_key(config: dict, *, development_run: bool) -> str:
    """The history chain's HMAC key: required and strong when served for real, like SECRET_KEY.

    A development run and the tests without one share a fixed, published key, so that what a
    ``flask seed`` wrote verifies in the ``flask run`` after it; it protects nothing, and
    anything but a development run or the tests refuses it.
    """
    key = config["AUDIT_KEY"] or ""
    lenient = development_run or config.get("TESTING") is True
    if lenient:
        return key or DEVELOPMENT_AUDIT_KEY
    how = "e.g. AUDIT_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
    if not key:
        raise ConfigError(f"AUDIT_KEY is not set (the history's HMAC key, kept outside the database), {how}")
    if not is_strong_key(key) or key == DEVELOPMENT_AUDIT_KEY or key == config["SECRET_KEY"]:
        raise ConfigError(
            f"AUDIT_KEY is too weak, published, or the same as SECRET_KEY. Set its own random value, {how}"
        )
    return key


def check_secret_key(config: dict, *, development_run: bool) -> str:
    """The key sessions and forms are signed with; refuses to start on an insecure one.

    Served for real (gunicorn, or anything but a development run and the tests), the key must
    be set and strong. A development run without one gets a random key for that process (its
    sessions end with it); the tests (``TESTING`` set in code, never from the environment) may
    use a short known key.
    """
    key = config["SECRET_KEY"] or ""
    lenient = development_run or config.get("TESTING") is True
    if not key and lenient:
        return secrets.token_hex(32)
    how = "e.g. SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
    if not key:
        raise ConfigError(
            f"SECRET_KEY is not set. Set the environment variable SECRET_KEY to a long random value, {how}"
        )
    if not lenient and not is_strong_key(key):
        raise ConfigError(
            f"SECRET_KEY is too weak or a published example (at least {MIN_KEY_LENGTH} varied characters, "
            f"never a key from the docs or the tests). Set a long random value, {how}"
        )
    return key
