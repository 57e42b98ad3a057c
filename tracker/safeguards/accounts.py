"""User accounts: creating, changing passwords, deactivating. Only admins manage others.

Also what the admin's user pages read: the list of users, and the centers and bureaus a user
may be assigned to.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, joinedload
from werkzeug.security import check_password_hash
from zxcvbn import zxcvbn

from ..models import Bureau, Center, User, Ward
from ..states import Role
from ..wording import N_, say
from ..workflow import WorkflowError

MIN_PASSWORD_LENGTH = 10
LOGIN_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


# argon2id with the library's defaults (RFC 9106 low-memory profile: 64 MiB, 3 passes, 4 lanes).
_hasher = PasswordHasher()
_dummy_hash: str | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    """argon2id hashes, and the werkzeug hashes (scrypt/pbkdf2) of older rows and demo data."""
    if stored.startswith("$argon2"):
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        return check_password_hash(stored, password)
    except ValueError:  # not a hash werkzeug knows
        return False


def needs_rehash(stored: str) -> bool:
    """A legacy (non-argon2) hash, or argon2 with weaker settings than the current ones."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _hasher.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def check_password(user: User, password: str) -> bool:
    return _verify(user.password_hash, password)


def _spend_time_like_a_check(password: str) -> None:
    """An unknown login costs as much time as a known one, so timing does not reveal login IDs."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("not-a-password-of-anyone")
    _verify(_dummy_hash, password)


# Words anyone guessing a Kumamoto city employee's password tries first, beside their own names.
CITY_WORDS = ("kumamoto", "熊本", "熊本市", "熊本市役所", "市役所", "shiyakusho", "higo", "肥後")
MIN_STRENGTH = 3  # zxcvbn's score, 0-4: 3 is "safely unguessable" for an online attacker
MAX_CHECKED_LENGTH = 200  # the forms' own limit; zxcvbn's cost grows with the length


def _personal_words(login: str, display_name: str, email: str) -> list[str]:
    """The login, the name (whole and each part) and the e-mail's local part, normalised: no
    password may contain one of them."""
    words = [login, email.partition("@")[0], re.sub(r"[\s\u3000]+", "", display_name)]
    words += re.split(r"[\s\u3000]+", display_name)
    return [word for word in (unicodedata.normalize("NFKC", w).lower() for w in words) if len(word) >= 2]


def _word_parts(login: str, email: str) -> list[str]:
    """The parts of the login and the e-mail's local part (``chuo``, ``manager``): those of four
    letters or more are refused like the whole login; zxcvbn also counts the shorter ones."""
    local_part = email.partition("@")[0]
    return [part for part in re.split(r"[._+-]+", f"{login}.{local_part}") if len(part) >= 3]


def password_problem(
    password: str, *, login: str = "", display_name: str = "", email: str = ""
) -> str | None:
    """Why ``password`` may not be used, in plain Japanese, or None when it is good enough.

    Every way a password is set (own change, an admin's create or reset) checks it here: at
    least ``MIN_PASSWORD_LENGTH`` characters, none of the user's own login, name or e-mail in it
    (checked directly as well, since zxcvbn does not split Japanese names), and a zxcvbn score
    of at least ``MIN_STRENGTH`` with those and the city's words as known inputs. zxcvbn works
    offline from its bundled lists of common and leaked passwords and words.
    """
    password = password or ""
    if len(password) > MAX_CHECKED_LENGTH:
        return say("パスワードは%(max)s文字以内にしてください。", max=MAX_CHECKED_LENGTH)
    normalised = unicodedata.normalize("NFKC", password).lower()
    personal = _personal_words(login, display_name, email)
    parts = _word_parts(login, email)
    if any(word in normalised for word in personal + [part for part in parts if len(part) >= 4]):
        return N_("パスワードにログインIDや氏名が含まれています。推測されにくいものにしてください。")
    result = zxcvbn(password, user_inputs=[*personal, *parts, *CITY_WORDS], max_length=MAX_CHECKED_LENGTH)
    weak = result["score"] < MIN_STRENGTH
    dictionaries = {match.get("dictionary_name") for match in result["sequence"]}
    if weak and "passwords" in dictionaries:
        return N_("よく使われるパスワード（またはその変形）です。別のものにしてください。")
    if weak and "user_inputs" in dictionaries:
        return N_("パスワードにログインID・氏名・市の名前など推測されやすい語が含まれています。")
    if len(password) < MIN_PASSWORD_LENGTH:
        return say("パスワードが短すぎます。%(min)s文字以上にしてください。", min=MIN_PASSWORD_LENGTH)
    if not weak:
        return None
    patterns = {match["pattern"] for match in result["sequence"]}
    if patterns & {"sequence", "repeat", "spatial"}:
        return N_("連続した文字・繰り返し・キーボードの並びは推測されやすいパスワードです。")
    if "date" in patterns:
        return N_("日付や年を含むパスワードは推測されやすいです。")
    return N_("推測されやすいパスワードです。単語をもう2つほど加えるなど長くしてください。")


def _check_new_password(password: str, user: User | None = None, **names: str) -> None:
    """Refuse a password the policy of ``password_problem`` does not accept (for ``user`` or ``names``)."""
    if user is not None:
        names = {"login": user.login, "display_name": user.display_name, "email": user.email or ""}
    problem = password_problem(password, **names)
    if problem:
        raise WorkflowError(problem)


def authenticate(session: Session, login: str, password: str) -> User | None:
    user = session.execute(
        select(User).where(func.lower(User.login) == (login or "").strip().lower())
    ).scalar_one_or_none()
    if user is None:
        _spend_time_like_a_check(password or "")
        return None
    if not check_password(user, password or "") or not user.active:
        return None
    if needs_rehash(user.password_hash):  # legacy werkzeug hash: upgraded now the password is known
        user.password_hash = hash_password(password)
    return user


def end_sessions(user: User) -> None:
    """Ends every open login session of ``user``: the session's user id carries this version."""
    user.session_version = (user.session_version or 1) + 1


def load_session_user(session: Session, session_user_id: str) -> User | None:
    """The user of a login session ("id:session_version"), or None when the session was ended
    (logout elsewhere, password change or reset, deactivation) or the user is inactive."""
    user_id, _, version = (session_user_id or "").partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None
    return user


def change_password(user: User, current: str, new: str) -> None:
    if not check_password(user, current or ""):
        raise WorkflowError("現在のパスワードが正しくありません。")
    if current == new:
        raise WorkflowError("新しいパスワードは現在のものと違うものにしてください。")
    _check_new_password(new, user)
    user.password_hash = hash_password(new)
    user.must_change_password = False
    end_sessions(user)  # the view logs the current session in again under the new version


def _affiliation(session: Session, role: Role, fields: dict[str, Any]) -> dict[str, Any]:
    """The ward, center and bureau a role needs, checked against each other."""
    center = session.get(Center, fields.get("center_id")) if fields.get("center_id") else None
    ward = session.get(Ward, fields.get("ward_id")) if fields.get("ward_id") else None
    bureau = session.get(Bureau, fields.get("bureau_id")) if fields.get("bureau_id") else None
    if role == Role.LIAISON:
        if center is None:
            raise WorkflowError("地域担当職員にはまちづくりセンターを選んでください。")
        return {"center": center, "ward_id": center.ward_id, "bureau": None}
    if role == Role.WARD_MANAGER:
        if ward is None:
            raise WorkflowError("区役所 管理職には区を選んでください。")
        return {"center": None, "ward_id": ward.id, "bureau": None}
    if role == Role.BUREAU_STAFF:
        if bureau is None:
            raise WorkflowError("局 担当者には局を選んでください。")
        return {"center": None, "ward_id": None, "bureau": bureau}
    return {"center": None, "ward_id": None, "bureau": None}


def _role(value: Any) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise WorkflowError("役割を選んでください。") from None


def create_user(session: Session, fields: dict[str, Any], *, check_strength: bool = True) -> User:
    """A new account; it must change its password at first login unless told otherwise.

    ``check_strength=False`` is for the demo seed only, whose published password is meant to be
    known (and which production refuses to load).
    """
    login = (fields.get("login") or "").strip().lower()
    if not LOGIN_PATTERN.match(login):
        raise WorkflowError("ログインIDは英小文字・数字・「.」「_」「-」の3文字以上にしてください。")
    if session.execute(select(User.id).where(func.lower(User.login) == login)).first():
        raise WorkflowError("ログインID「%(login)s」は既に使われています。", login=login)
    display_name = (fields.get("display_name") or "").strip()
    if not display_name:
        raise WorkflowError("氏名を入力してください。")
    email = (fields.get("email") or "").strip()
    if check_strength:
        _check_new_password(fields.get("password"), login=login, display_name=display_name, email=email)
    elif not fields.get("password"):
        raise WorkflowError("パスワードを入力してください。")
    role = _role(fields.get("role"))
    user = User(
        login=login,
        display_name=display_name,
        email=email,
        password_hash=hash_password(fields["password"]),
        role=role,
        must_change_password=bool(fields.get("must_change_password", True)),
        **_affiliation(session, role, fields),
    )
    session.add(user)
    session.flush()
    return user


def update_user(session: Session, user: User, fields: dict[str, Any]) -> None:
    display_name = (fields.get("display_name") or "").strip()
    if not display_name:
        raise WorkflowError("氏名を入力してください。")
    role = _role(fields.get("role"))
    affiliation = _affiliation(session, role, fields)
    user.display_name, user.role = display_name, role
    user.email = (fields.get("email") or "").strip()
    for key, value in affiliation.items():
        setattr(user, key, value)
    session.flush()


def edit_user(session: Session, actor: User, user: User, fields: dict[str, Any]) -> None:
    """``update_user`` done by ``actor``, who cannot take the admin role from themselves.

    With the rule of ``set_active`` this keeps at least one admin who can log in.
    """
    if user.id == actor.id and _role(fields.get("role")) != actor.role:
        raise WorkflowError("自分自身の役割は変更できません。")
    update_user(session, user, fields)


def set_active(actor: User, user: User, active: bool) -> None:
    if user.id == actor.id and not active:
        raise WorkflowError("自分自身のアカウントは無効にできません。")
    if user.active and not active:
        end_sessions(user)
    user.active = active


def reset_password(user: User, new: str) -> None:
    """An admin's new initial password: checked like any other, changed by its owner at next login."""
    _check_new_password(new, user)
    user.password_hash = hash_password(new)
    user.must_change_password = True
    end_sessions(user)


# --- what the admin's user pages read ------------------------------------------------------


def users_statement(role: Role | None = None, active: bool | None = None) -> Select:
    """Every user by login ID, with their ward, center and bureau; of one role and/or state."""
    statement = (
        select(User)
        .options(joinedload(User.ward), joinedload(User.center), joinedload(User.bureau))
        .order_by(User.login)
    )
    if role is not None:
        statement = statement.where(User.role == role)
    if active is not None:
        statement = statement.where(User.active.is_(active))
    return statement


@dataclass(frozen=True)
class Places:
    """What a user may be assigned to (centers with their ward loaded)."""

    centers: Sequence[Center]
    bureaus: Sequence[Bureau]


def _active_or_own(model, own_id: int | None):
    """Active rows, and the one the user already belongs to even if it has been deactivated."""
    return model.active if own_id is None else or_(model.active, model.id == own_id)


def assignable_places(session: Session, user: User | None = None) -> Places:
    """The centers and bureaus a new user (``None``) or ``user`` may be given, in display order:
    the active ones, and the ones ``user`` already belongs to even if deactivated since."""
    centers = session.scalars(
        select(Center)
        .options(joinedload(Center.ward))
        .where(_active_or_own(Center, user.center_id if user else None))
        .order_by(Center.sort_order)
    ).all()
    bureaus = session.scalars(
        select(Bureau)
        .where(_active_or_own(Bureau, user.bureau_id if user else None))
        .order_by(Bureau.sort_order)
    ).all()
    return Places(centers, bureaus)
