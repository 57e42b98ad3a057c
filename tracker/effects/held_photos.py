"""Photos chosen on a new-request form that came back without being saved (a refusal, or the
similar-request question), held so that the user need not choose them again.

Each form gets a random token (a hidden field); the photos it sent are checked like any photo
(``photos.check_photo``) and written under ``<hold dir>/<token>/``, by a random key each, with
the name the user gave them. The next submit of the same form re-attaches them (``uploads``),
or drops the ones the user took off; once the request is logged they are deleted (``clear``).
Whatever is left is deleted an hour after it was last touched (``purge``, run on every submit).
Tokens and keys are checked against their exact shape before any path is built from them.

No Flask here.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..wording import N_
from . import photos
from .photos import CheckedPhoto
from .support import WorkflowError

KEEP_SECONDS = 3600
_TOKEN = re.compile(r"[0-9a-f]{32}")
_KEY = re.compile(r"[0-9a-f]{16}")
_NAMES = "names.json"


@dataclass(frozen=True)
class HeldPhoto:
    key: str
    original_name: str


def new_token() -> str:
    return secrets.token_hex(16)


def valid_token(value: str | None) -> str | None:
    """``value`` if it is a token this module could have made, else None."""
    return value if value and _TOKEN.fullmatch(value) else None


def _folder(directory: str, token: str) -> Path:
    if not _TOKEN.fullmatch(token):
        raise ValueError("not a hold token")
    return Path(directory) / token


def _names(folder: Path) -> dict[str, str]:
    try:
        return json.loads((folder / _NAMES).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_names(folder: Path, names: dict[str, str]) -> None:
    (folder / _NAMES).write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")


def hold(directory: str, token: str, photo: CheckedPhoto) -> HeldPhoto:
    """Keep one checked photo for the form ``token``."""
    folder = _folder(directory, token)
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(8)
    (folder / key).write_bytes(photo.data)
    names = _names(folder)
    names[key] = photo.original_name
    _write_names(folder, names)
    return HeldPhoto(key, photo.original_name)


def hold_uploads(
    directory: str, token: str, uploads: list[tuple[BinaryIO, str]], *, max_count: int, max_bytes: int
) -> None:
    """Check and hold the photos one submit sent (stream, file name), within ``max_count`` held
    in all; raise ``WorkflowError`` at the first refused one (those before it stay held)."""
    for stream, name in uploads:
        if len(held(directory, token)) >= max_count:
            raise WorkflowError(N_("写真は%(max_count)s枚までです。"), max_count=max_count)
        hold(directory, token, photos.check_photo(stream, name, max_bytes))


def held(directory: str, token: str | None) -> list[HeldPhoto]:
    """The photos held for ``token``, in the order they were chosen."""
    if not valid_token(token):
        return []
    folder = _folder(directory, token)
    return [HeldPhoto(key, name) for key, name in _names(folder).items() if (folder / key).is_file()]


def drop(directory: str, token: str | None, keys: list[str]) -> None:
    """Take the photos ``keys`` off the form ``token``."""
    if not valid_token(token):
        return
    folder = _folder(directory, token)
    names = _names(folder)
    for key in keys:
        if _KEY.fullmatch(key or "") and key in names:
            (folder / key).unlink(missing_ok=True)
            del names[key]
    if folder.is_dir():
        _write_names(folder, names)


def uploads(directory: str, token: str | None) -> list[tuple[io.BytesIO, str]]:
    """The held photos as uploads (stream, name), for ``intake.log_request``."""
    if not valid_token(token):
        return []
    folder = _folder(directory, token)
    return [(io.BytesIO((folder / p.key).read_bytes()), p.original_name) for p in held(directory, token)]


def clear(directory: str, token: str | None) -> None:
    """Forget the form ``token``: its request is logged."""
    if valid_token(token):
        shutil.rmtree(_folder(directory, token), ignore_errors=True)


def purge(directory: str, *, now: float | None = None) -> int:
    """Delete the holds untouched for an hour; return how many."""
    root = Path(directory)
    if not root.is_dir():
        return 0
    limit = (now if now is not None else time.time()) - KEEP_SECONDS
    purged = 0
    for folder in root.iterdir():
        if folder.is_dir() and _TOKEN.fullmatch(folder.name) and folder.stat().st_mtime < limit:
            shutil.rmtree(folder, ignore_errors=True)
            purged += 1
    return purged
