"""The backup archive: its format, how values are written into it, and checking one.

The archive (``FORMAT``, version ``FORMAT_VERSION``) is a zip file holding:

``manifest.json``
    ``format``, ``format_version``, ``created_at`` (UTC), ``dialect`` it was made on,
    ``alembic_revisions`` (the schema revision(s) of the database), ``tables`` in dependency
    order (parents first), each with ``name``, ``rows``, ``sha256`` of its file, and
    ``columns`` (name → kind, see ``column_kind``); ``files``: ``path``, ``size``, ``sha256``.
``tables/<table>.jsonl``
    one JSON object per row, all columns, rows in primary-key order. Values are JSON where
    JSON is exact (integers, text, booleans, JSON columns, null); dates and times are ISO 8601
    (with their UTC offset), decimals are strings, bytes are base64, enums are their values.
``files/photos/…``, ``files/imports/…``, ``files/attachments/…``
    with ``--with-files``: everything under ``PHOTO_DIR``, ``IMPORT_DIR`` and ``ATTACHMENT_DIR``.

``tracker.safeguards.backup`` writes and restores archives of this format.
"""

from __future__ import annotations

import base64
import datetime as dt
import enum
import hashlib
import json
import zipfile
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import click
import sqlalchemy as sa

FORMAT = "ward-tracker-backup"


FORMAT_VERSION = 1


MANIFEST = "manifest.json"


class BackupError(click.ClickException):
    """A backup or restore that cannot go on; the message says why and what to do."""


_KINDS: tuple[tuple[type, str], ...] = (
    (sa.JSON, "json"),
    (sa.Enum, "enum"),
    (sa.DateTime, "datetime"),
    (sa.Date, "date"),
    (sa.Time, "time"),
    (sa.Float, "float"),
    (sa.Numeric, "decimal"),
    (sa.LargeBinary, "bytes"),
    (sa.Boolean, "plain"),
    (sa.Integer, "plain"),
    (sa.String, "plain"),
)


def column_kind(column: sa.Column) -> str:
    """How a column's values are written: json, enum, datetime, date, time, float, decimal,
    bytes or plain (integers, text, booleans: JSON as they are)."""
    type_ = column.type
    if isinstance(type_, sa.TypeDecorator):
        type_ = type_.impl_instance
    for cls, kind in _KINDS:
        if isinstance(type_, cls):
            return kind
    raise BackupError(f"no backup encoding for {column.table.name}.{column.name} ({type_!r})")


def encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("datetime", "date", "time"):
        return value.isoformat()
    if kind == "decimal":
        return str(value)
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind == "enum" and isinstance(value, enum.Enum):
        return value.value
    return value


def decode(kind: str, value: Any) -> Any:
    """The Python value to insert (enums stay their stored text)."""
    if value is None:
        return None
    if kind == "datetime":
        return dt.datetime.fromisoformat(value)
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "time":
        return dt.time.fromisoformat(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "bytes":
        return base64.b64decode(value)
    return value


def member(name: str) -> zipfile.ZipInfo:
    """An archive member named ``name``, dated now (local time, as zip dates are)."""
    member = zipfile.ZipInfo(name, date_time=dt.datetime.now().timetuple()[:6])
    member.compress_type = zipfile.ZIP_DEFLATED
    return member


def read_manifest(archive: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(archive.read(MANIFEST))
    except KeyError:
        raise BackupError("not a tracker backup: manifest.json is missing") from None
    if manifest.get("format") != FORMAT:
        raise BackupError("not a tracker backup: unknown format")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(f"backup format version {manifest.get('format_version')} is not supported")
    return manifest


def table_rows(archive: zipfile.ZipFile, entry: dict) -> Iterator[dict]:
    with archive.open(f"tables/{entry['name']}.jsonl") as source:
        for line in source:
            yield json.loads(line)


def verify_archive(archive: zipfile.ZipFile, manifest: dict) -> None:
    """Check every table's and file's size and SHA-256 against the manifest; change nothing."""
    for entry in manifest["tables"]:
        digest, rows = hashlib.sha256(), 0
        try:
            with archive.open(f"tables/{entry['name']}.jsonl") as source:
                for line in source:
                    digest.update(line)
                    rows += 1
        except KeyError:
            raise BackupError(f"the backup has no data for table {entry['name']}") from None
        if digest.hexdigest() != entry["sha256"] or rows != entry["rows"]:
            raise BackupError(f"table {entry['name']} in the backup is damaged (checksum or row count)")
    for entry in manifest["files"]:
        digest = hashlib.sha256()
        with archive.open(entry["path"]) as source:
            while chunk := source.read(1024 * 1024):
                digest.update(chunk)
        if digest.hexdigest() != entry["sha256"]:
            raise BackupError(f"file {entry['path']} in the backup is damaged (checksum)")
