"""Files kept under the instance folder for a database row (photos, attachments).

A file is written before its row is committed (the row needs the file's stored name). So that a
transaction that is rolled back (a refused action, a lost race, a failed flush) leaves no file
that no row names, each file written is noted on its session, and ``register`` deletes the noted
files when that session rolls back, and forgets them when it commits. The other way round, a
file whose row is deleted (retention erasure) is deleted only once that deletion commits.

No Flask here.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

_WRITTEN = "stored_files_written"
_DOOMED = "stored_files_doomed"


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


def delete_after_commit(session: Session, directory: str, stored_name: str) -> None:
    """Delete a stored file once the transaction that deletes its row commits (kept on rollback)."""
    session.info.setdefault(_DOOMED, []).append(stored_path(directory, stored_name))


def _committed(session: Session, *_args) -> None:
    session.info.pop(_WRITTEN, None)
    for path in session.info.pop(_DOOMED, []):
        path.unlink(missing_ok=True)


def _rolled_back(session: Session) -> None:
    session.info.pop(_DOOMED, None)
    for path in session.info.pop(_WRITTEN, []):
        path.unlink(missing_ok=True)


def register() -> None:
    """Keep the files of committed rows and delete those of rolled-back ones; delete the files of
    deleted rows when that deletion commits (once per process)."""
    if not event.contains(Session, "after_rollback", _rolled_back):
        event.listen(Session, "after_commit", _committed)
        event.listen(Session, "after_rollback", _rolled_back)
