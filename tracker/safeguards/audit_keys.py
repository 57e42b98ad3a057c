"""The keys of the history's hash chain: an HMAC key kept outside the database.

With the chain unkeyed, anyone who could write to the database could rewrite an event and
recompute every hash after it. Keyed, each event's hash is ``HMAC-SHA256(key, canonical)``; the
key lives in the environment (``AUDIT_KEY``), never in the database, so database access alone
cannot forge a link. Each event names the key it was made with by a short id (a hash of the
key, never the key), so the key can be rotated: the new key goes to ``AUDIT_KEY``, the old one
to ``AUDIT_KEY_FALLBACKS``, and events made with either verify.
"""

from __future__ import annotations

import hashlib
import hmac

from flask import current_app, has_app_context


def key_id(key: str) -> str:
    """A short public name for ``key``: 16 hex characters of its SHA-256, not the key."""
    return hashlib.sha256(b"audit-key-id:" + key.encode("utf-8")).hexdigest()[:16]


def current_key() -> tuple[str, str]:
    """(id, key) that new events are made with; only inside an app (which knows the key)."""
    if not has_app_context():
        raise RuntimeError("history events are written inside an application, which holds the audit key")
    key = current_app.config["AUDIT_KEY"]
    return key_id(key), key


def known_keys() -> dict[str, str]:
    """Every key an event may have been made with, by id: the current one and the fallbacks."""
    keys = [current_app.config["AUDIT_KEY"], *current_app.config.get("AUDIT_KEY_FALLBACKS", [])]
    return {key_id(key): key for key in keys}


def mac(key: str, document: bytes) -> str:
    return hmac.new(key.encode("utf-8"), document, hashlib.sha256).hexdigest()
