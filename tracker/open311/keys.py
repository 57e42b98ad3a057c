"""API keys: stored as a SHA-256 hash; the key itself is shown once, when it is made."""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..open311_models import ApiKey


def hash_key(plain: str) -> str:
    """The stored form of a key. Keys are long random strings, so a plain SHA-256 is enough."""
    return hashlib.sha256(plain.encode("utf-8")).hexdigest()


def find_active_key(session: Session, plain: str | None) -> ApiKey | None:
    """The unrevoked key ``plain`` is, or None; marks it used."""
    if not plain or len(plain) > 200:
        return None
    key = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(plain))).one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    key.last_used_at = dt.datetime.now(dt.UTC)
    return key
