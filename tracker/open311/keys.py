"""API keys: stored as a SHA-256 hash; the key itself is shown once, when it is made.

``create_key``, ``revoke_key`` and ``set_rate_limit`` are the admin's writes (the admin pages and
``flask api-key``): each checks its input, changes the row, flushes and records the change with
its old and new values (``changes``); a broken rule raises ``WorkflowError`` (Japanese) before
anything changes. The caller commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from ..effects.support import WorkflowError
from ..models import Center, User
from ..open311_models import ApiKey
from ..wording import N_
from .changes import FieldError, record_change


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


# --- the admin's writes --------------------------------------------------------------------

MIN_LIMIT, MAX_LIMIT = 1, 10_000
NAME_LENGTH = ApiKey.__table__.c.name.type.length
PREFIX_LENGTH = 8


def _limit(value: Any) -> int:
    message = N_("1分あたりの上限は%(min)s〜%(max)sの整数で入力してください。")
    bounds = {"min": MIN_LIMIT, "max": f"{MAX_LIMIT:,}"}
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldError("rate_limit_per_minute", message, **bounds)
    try:
        number = int(value)
    except ValueError:
        raise FieldError("rate_limit_per_minute", message, **bounds) from None
    if not MIN_LIMIT <= number <= MAX_LIMIT:
        raise FieldError("rate_limit_per_minute", message, **bounds)
    return number


def _center(session: Session, center_id: Any) -> Center | None:
    """The center an id names (an int or its digits within an id column's range), else None."""
    if isinstance(center_id, bool) or not isinstance(center_id, int | str):
        return None
    text = str(center_id).strip()
    if not text.isdecimal() or len(text) > 10 or not 0 < int(text) <= 2**31 - 1:
        return None
    return session.get(Center, int(text))


def _scope_label(center: Center | None) -> str:
    return f"{center.ward.name} {center.name}" if center else "市全体"


def create_key(
    session: Session,
    actor: User | None,
    *,
    name: Any,
    center_id: Any = None,
    rate_limit_per_minute: Any = 60,
) -> tuple[ApiKey, str]:
    """A new key named ``name``, city-wide (``center_id`` None) or for one active center.

    Returns the key's row and its plain text, which is stored nowhere: the caller shows it once.
    """
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise FieldError("name", "APIキーの名前を入力してください。")
    if len(name) > NAME_LENGTH:
        raise FieldError(
            "name", "APIキーの名前は%(name_length)s文字以内にしてください。", name_length=NAME_LENGTH
        )
    if session.execute(select(ApiKey.id).where(ApiKey.name == name)).first():
        raise FieldError("name", "APIキー「%(name)s」は既にあります。別の名前にしてください。", name=name)
    center = None
    if center_id not in (None, "", 0, "0"):
        center = _center(session, center_id)
        if center is None or not center.active:
            raise FieldError("center_id", "有効なまちづくりセンターを選んでください。")
    limit = _limit(rate_limit_per_minute)
    plain = secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        key_hash=hash_key(plain),
        key_prefix=plain[:PREFIX_LENGTH],
        center=center,
        rate_limit_per_minute=limit,
        created_by=actor,
        created_at=dt.datetime.now(dt.UTC),
    )
    session.add(key)
    session.flush()
    fields = {
        "name": (None, name),
        "key_prefix": (None, key.key_prefix),
        "center_id": (None, center.id if center else None),
        "rate_limit_per_minute": (None, limit),
    }
    record_change(
        session,
        actor,
        f"APIキー「{name}」({_scope_label(center)}) を発行",
        "api_keys",
        key.id,
        fields,
        new=True,
    )
    return key, plain


def revoke_key(session: Session, actor: User | None, key: ApiKey) -> None:
    """Refuse the key from now on; it stays, so that its requests stay attributed to it."""
    if key.revoked_at is not None:
        raise WorkflowError("APIキー「%(name)s」は既に無効化されています。", name=key.name)
    key.revoked_at = dt.datetime.now(dt.UTC)
    key.revoked_by = actor
    session.flush()
    fields = {"revoked_at": (None, key.revoked_at)}
    record_change(session, actor, f"APIキー「{key.name}」を無効化", "api_keys", key.id, fields)


def set_rate_limit(session: Session, actor: User | None, key: ApiKey, limit: Any) -> None:
    """Requests per minute the key may send."""
    if key.revoked_at is not None:
        raise WorkflowError("APIキー「%(name)s」は無効化されているため変更できません。", name=key.name)
    number = _limit(limit)
    old = key.rate_limit_per_minute
    if number == old:
        raise FieldError("rate_limit_per_minute", "1分あたりの上限は既に%(old)s回です。", old=f"{old:,}")
    key.rate_limit_per_minute = number
    session.flush()
    fields = {"rate_limit_per_minute": (old, number)}
    record_change(session, actor, f"APIキー「{key.name}」の上限を変更", "api_keys", key.id, fields)


def all_keys(session: Session) -> Sequence[ApiKey]:
    """Every key, newest first, with its center (and ward) and who made and revoked it."""
    return session.scalars(
        select(ApiKey)
        .options(
            joinedload(ApiKey.center).joinedload(Center.ward),
            joinedload(ApiKey.created_by),
            joinedload(ApiKey.revoked_by),
        )
        .order_by(ApiKey.id.desc())
    ).all()


def key_named(session: Session, name: str) -> ApiKey | None:
    return session.scalars(select(ApiKey).where(ApiKey.name == name)).one_or_none()
