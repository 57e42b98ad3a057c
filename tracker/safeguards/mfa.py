"""The second factor: TOTP codes (RFC 6238) from an authenticator app, and single-use recovery codes.

Required for the admin and ward managers (``REQUIRED_ROLES``: they approve, send on and manage
accounts), optional for everyone else. A user sets it up by scanning the secret, then proving
it with a first code; only then is ``UserMfa.confirmed_at`` set and ten recovery codes made.

A code is good for its 30-second step and one step either side (clocks drift), and only once:
``last_used_step`` remembers the latest step accepted, and no code of that step or an earlier
one is accepted again, so a code seen over someone's shoulder cannot be replayed.

Recovery codes are 80 random bits each, shown once and stored as their SHA-256. A slow password
hash (argon2id) protects guessable human passwords; these are not guessable, so a fast hash
costs an attacker with the table just as much (2^80 tries), and a login can look a code up by
its hash instead of running argon2 ten times.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import unicodedata

import pyotp
import segno
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..models import User
from ..ops_models import RecoveryCode, UserMfa
from ..states import Role
from ..workflow import WorkflowError
from . import accounts

REQUIRED_ROLES = frozenset({Role.ADMIN, Role.WARD_MANAGER})
ISSUER = "熊本市 要望・課題管理"
STEP_SECONDS = 30
VALID_WINDOW = 1  # steps either side of now
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_RECOVERY_LENGTH = 16  # 16 of 31 symbols: 79 bits
TOTP_PATTERN = re.compile(r"^[0-9]{6}$")


def is_required(user: User, required_roles=REQUIRED_ROLES) -> bool:
    return user.role in required_roles


def mfa_of(session: Session, user: User) -> UserMfa | None:
    return session.get(UserMfa, user.id)


def is_confirmed(session: Session, user: User) -> bool:
    row = mfa_of(session, user)
    return row is not None and row.confirmed_at is not None


def step_at(now: dt.datetime) -> int:
    return int(now.timestamp()) // STEP_SECONDS


# --- setting it up -------------------------------------------------------------------------


def start_setup(session: Session, user: User) -> UserMfa:
    """A new secret for ``user``, not yet in force (a setup begun again gets a new one)."""
    row = mfa_of(session, user)
    if row is not None and row.confirmed_at is not None:
        raise WorkflowError("二段階認証は既に設定されています。")
    if row is None:
        row = UserMfa(user_id=user.id)
        session.add(row)
    row.secret, row.last_used_step = pyotp.random_base32(), None
    session.flush()
    return row


def pending_secret(session: Session, user: User) -> str | None:
    """The secret of a setup begun but not confirmed, to show while it is being set up."""
    row = mfa_of(session, user)
    return row.secret if row is not None and row.confirmed_at is None else None


def provisioning_uri(user: User, secret: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (from the QR code, or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=user.login, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The URI as a QR code, an SVG in a ``data:`` URI (the CSP allows data: images only)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def confirm_setup(session: Session, user: User, code: str, now: dt.datetime) -> list[str]:
    """Put the second factor in force once a first code is right; the new recovery codes."""
    row = mfa_of(session, user)
    if row is None or row.confirmed_at is not None:
        raise WorkflowError("二段階認証の設定を始めてからコードを入力してください。")
    if not _accept_totp(row, code, now):
        raise WorkflowError(
            "確認コードが正しくありません。アプリに表示されている6桁の数字を入力してください。"
        )
    row.confirmed_at = now
    return replace_recovery_codes(session, user, now)


def replace_recovery_codes(session: Session, user: User, now: dt.datetime) -> list[str]:
    """Ten new recovery codes (returned once, in plain text); every earlier one stops working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_code(c), created_at=now) for c in codes)
    session.flush()
    return ["-".join(code[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)) for code in codes]


def regenerate_recovery_codes(session: Session, user: User, password: str, now: dt.datetime) -> list[str]:
    if not is_confirmed(session, user):
        raise WorkflowError("二段階認証が設定されていません。")
    if not accounts.check_password(user, password or ""):
        raise WorkflowError("パスワードが正しくありません。")
    return replace_recovery_codes(session, user, now)


def disable(session: Session, user: User, password: str, code: str, now: dt.datetime) -> None:
    """The user turns their own second factor off: only where it is optional, with both factors."""
    row = mfa_of(session, user)
    if row is None or row.confirmed_at is None:
        raise WorkflowError("二段階認証は設定されていません。")
    if is_required(user):
        raise WorkflowError("管理者と区役所 管理職は二段階認証を解除できません。")
    if not accounts.check_password(user, password or ""):
        raise WorkflowError("パスワードが正しくありません。")
    if not _accept_totp(row, code, now):
        raise WorkflowError("確認コードが正しくありません。")
    _remove(session, user)


def admin_reset(session: Session, user: User) -> None:
    """The admin clears a user's second factor (a lost phone): the old secret and recovery codes
    stop working, every session of the user ends, and where it is required the user sets it up
    again at the next login. The secret is replaced rather than the row deleted, so the admin's
    change log records the reset (as changed, never the secret itself)."""
    row = mfa_of(session, user)
    if row is None:
        raise WorkflowError("このユーザーは二段階認証を設定していません。")
    row.secret, row.confirmed_at, row.last_used_step = pyotp.random_base32(), None, None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    accounts.end_sessions(user)
    session.flush()


def _remove(session: Session, user: User) -> None:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.execute(delete(UserMfa).where(UserMfa.user_id == user.id))
    session.expire_all()


# --- logging in ----------------------------------------------------------------------------


def check_second_factor(session: Session, user: User, code: str, now: dt.datetime) -> bool:
    """A login's second step: a current TOTP code not used before, or an unused recovery code
    (which is used up). False for anything else, changing nothing."""
    row = mfa_of(session, user)
    if row is None or row.confirmed_at is None:
        return False
    typed = _typed(code)
    if TOTP_PATTERN.match(typed):
        return _accept_totp(row, typed, now)
    return _use_recovery_code(session, user, typed, now)


def _accept_totp(row: UserMfa, code: str, now: dt.datetime) -> bool:
    """Whether ``code`` is the code of a step within the window and later than the last one used;
    if so, that step becomes the last used."""
    typed = _typed(code)
    if not TOTP_PATTERN.match(typed):
        return False
    totp, current = pyotp.TOTP(row.secret), step_at(now)
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if row.last_used_step is not None and step <= row.last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), typed):
            row.last_used_step = step
            return True
    return False


def _typed(code: str) -> str:
    """What was typed, as ASCII where a Japanese input method gave full-width digits or letters."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", code or ""))


def _normalise_recovery_code(code: str) -> str:
    return re.sub(r"[\-‐ー−]", "", _typed(code)).lower()


def _hash_code(code: str) -> str:
    return "sha256$" + hashlib.sha256(_normalise_recovery_code(code).encode()).hexdigest()


def _use_recovery_code(session: Session, user: User, code: str, now: dt.datetime) -> bool:
    if len(_normalise_recovery_code(code)) != _RECOVERY_LENGTH:
        return False
    found = session.scalars(
        select(RecoveryCode).where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(code),
            RecoveryCode.used_at.is_(None),
        )
    ).first()
    if found is None:
        return False
    found.used_at = now
    session.flush()
    return True


def unused_recovery_code_count(session: Session, user: User) -> int:
    return session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )
