"""Files kept under the instance folder for a database row (photos, attachments).

A file is written before its row is committed (the row needs the file's stored name). So that a
transaction that is rolled back (a refused action, a lost race, a failed flush) leaves no file
that no row names, each file written is noted on its session, and ``register`` deletes the noted
files when that session rolls back, and forgets them when it commits.

No Flask here.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

_WRITTEN = "stored_files_written"


def store_bytes(session: Session, data: bytes, extension: str, directory: str) -> str:
    """Write ``data`` by a random name with ``extension``; return the stored name."""
    stored_name = f"{secrets.token_hex(16)}.{extension}"
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / stored_name
    path.write_bytes(data)
    session.info.setdefault(_WRITTEN, []).append(path)
    return stored_name


def stored_path(directory: str, stored_name: str) -> Path:
    """Where a stored file is; only its last part of the name counts, never a path it carries."""
    return Path(directory) / Path(stored_name).name


def _forget(session: Session, *_args) -> None:
    session.info.pop(_WRITTEN, None)


def _delete_written(session: Session) -> None:
    for path in session.info.pop(_WRITTEN, []):
        path.unlink(missing_ok=True)


def register() -> None:
    """Keep the files of committed rows and delete those of rolled-back ones (once per process)."""
    if not event.contains(Session, "after_rollback", _delete_written):
        event.listen(Session, "after_commit", _forget)
        event.listen(Session, "after_rollback", _delete_written)
