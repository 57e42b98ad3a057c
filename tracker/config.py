"""Settings read from environment variables, with embedded defaults for a bare machine.

With no settings the app runs on SQLite in ``instance/`` and does background work inline.
In production (``APP_ENV=production``) ``SECRET_KEY`` must be set.
"""

import os
from pathlib import Path


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
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL", f"sqlite:///{sqlite_path}"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": env.get("REDIS_URL") or None,
        "RQ_QUEUE": env.get("RQ_QUEUE", "tracker"),
        "TIMEZONE": env.get("TIMEZONE", "Asia/Tokyo"),
        "CITY_NAME": env.get("CITY_NAME", "熊本市"),
        "ANSWER_DUE_DAYS": int(env.get("ANSWER_DUE_DAYS", "14")),
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
        # Requester name and contact of a request closed this long ago are erased (default 3 years).
        "PERSONAL_DATA_RETENTION_DAYS": int(env.get("PERSONAL_DATA_RETENTION_DAYS", "1095")),
        "BABEL_DEFAULT_LOCALE": "ja",
        "BABEL_DEFAULT_TIMEZONE": env.get("TIMEZONE", "Asia/Tokyo"),
        "LANGUAGES": ("ja", "en"),
        "PAGE_SIZE": int(env.get("PAGE_SIZE", "50")),
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
        # Failed logins allowed per window (Flask-Limiter notation), per login ID and per client IP.
        "LOGIN_LIMIT_PER_ACCOUNT": env.get("LOGIN_LIMIT_PER_ACCOUNT", "10 per 15 minutes"),
        "LOGIN_LIMIT_PER_IP": env.get("LOGIN_LIMIT_PER_IP", "50 per 15 minutes"),
        # Reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none).
        "TRUSTED_PROXY_COUNT": int(env.get("TRUSTED_PROXY_COUNT", "0")),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or None,  # default: REDIS_URL, else memory
        "RATELIMIT_KEY_PREFIX": "tracker",
        "RATELIMIT_STRATEGY": "moving-window",  # "10 in any 15 minutes", no burst at a window's edge
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": False,
        "WTF_CSRF_TIME_LIMIT": None,
    }
    largest_upload = max(
        config["PHOTO_MAX_BYTES"] * config["PHOTO_MAX_COUNT"],
        config["IMPORT_MAX_BYTES"],
        config["ATTACHMENT_MAX_BYTES"],
    )
    config["MAX_CONTENT_LENGTH"] = largest_upload + 1024**2
    config.update(overrides or {})
    # Login throttling is shared by all web processes through Redis when there is one.
    config["RATELIMIT_STORAGE_URI"] = config["RATELIMIT_STORAGE_URI"] or config["REDIS_URL"] or "memory://"
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgres://"):
        config["SQLALCHEMY_DATABASE_URI"] = "postgresql://" + config["SQLALCHEMY_DATABASE_URI"][11:]
    if config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql://"):
        config["SQLALCHEMY_DATABASE_URI"] = config["SQLALCHEMY_DATABASE_URI"].replace(
            "postgresql://", "postgresql+psycopg://", 1
        )
    if not config["SECRET_KEY"]:
        if config["APP_ENV"] == "production":
            raise ConfigError(
                "SECRET_KEY is not set. In production set the environment variable SECRET_KEY "
                "to a long random value, e.g. "
                "SECRET_KEY=$(python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        config["SECRET_KEY"] = "dev-only-not-secret"
    return config
