"""Backup and restore: the whole database (and, if asked, the instance files) in one zip file.

``flask backup PATH`` and ``flask restore PATH`` work the same on PostgreSQL and SQLite, need
no client tools (``pg_dump`` would tie the backup to the PostgreSQL client version and could
not be restored into SQLite), and a backup of one can be restored into the other.

The archive's format is ``tracker.safeguards.archive``.

The dump reads every table in one transaction (PostgreSQL: REPEATABLE READ, read only; SQLite:
one transaction that holds writers back), so the tables agree with each other; the files are
read after the tables, so every file a row names is there (a photo is written before its row).

Restore checks every checksum first, refuses a database that holds any row (``--force``
deletes them first), migrates the database to the backup's revision with the app's own
migrations, inserts every table in dependency order in one transaction, checks the counts,
and on PostgreSQL moves each id sequence past the highest id restored. It inserts through the
tables as the migrated database has them (reflected), so a backup of an older revision can be
restored with newer code: restore, then ``flask db upgrade``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from alembic import command
from alembic.util import CommandError
from flask import Flask, current_app

from ..extensions import db
from ..finding import search
from .archive import (
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    BackupError,
    column_kind,
    decode,
    encode,
    member,
    read_manifest,
    table_rows,
    verify_archive,
)

BATCH_ROWS = 1000
FILE_AREAS = {  # archive folder → config key
    "photos": "PHOTO_DIR",
    "imports": "IMPORT_DIR",
    "attachments": "ATTACHMENT_DIR",
}
# Tables whose rows the migrations themselves write (bookkeeping, not data): they do not make
# a database "not empty", and restore replaces their rows with the backup's.
SEEDED_BY_MIGRATIONS = frozenset({"audit_chain_head"})


# --- values ----------------------------------------------------------------------------------


# --- backup ----------------------------------------------------------------------------------


def _revisions(connection: sa.Connection) -> list[str]:
    if not sa.inspect(connection).has_table("alembic_version"):
        return []
    return sorted(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())


def _script_heads() -> list[str]:
    from alembic.script import ScriptDirectory

    return sorted(ScriptDirectory(current_app.extensions["migrate"].directory).get_heads())


def _archive_path(path: Path, now: dt.datetime) -> Path:
    """``path`` itself, or a new file named by the time inside it when it is a directory."""
    if path.is_dir():
        return path / f"tracker-{now:%Y%m%d-%H%M%S}.zip"
    return path


def _dump_table(connection: sa.Connection, table: sa.Table, archive: zipfile.ZipFile) -> dict:
    kinds = {column.name: column_kind(column) for column in table.columns}
    order = list(table.primary_key.columns) or list(table.columns)
    digest, rows = hashlib.sha256(), 0
    result = connection.execution_options(yield_per=BATCH_ROWS).execute(sa.select(table).order_by(*order))
    with archive.open(member(f"tables/{table.name}.jsonl"), "w", force_zip64=True) as out:
        for row in result.mappings():
            line = {name: encode(kind, row[name]) for name, kind in kinds.items()}
            data = (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
            out.write(data)
            digest.update(data)
            rows += 1
    return {"name": table.name, "rows": rows, "sha256": digest.hexdigest(), "columns": kinds}


def _add_files(archive: zipfile.ZipFile, config) -> list[dict]:
    listed = []
    for area, key in FILE_AREAS.items():
        root = Path(config[key])
        if not root.is_dir():
            continue
        for file in sorted(p for p in root.rglob("*") if p.is_file()):
            name = f"files/{area}/{file.relative_to(root).as_posix()}"
            digest, size = hashlib.sha256(), 0
            with file.open("rb") as source, archive.open(member(name), "w", force_zip64=True) as out:
                while chunk := source.read(1024 * 1024):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            listed.append({"path": name, "size": size, "sha256": digest.hexdigest()})
    return listed


def create_backup(path: str | Path, *, with_files: bool = False) -> tuple[Path, dict]:
    """Write the archive (readable by its owner only); return its path and manifest."""
    now = dt.datetime.now(dt.UTC)
    target = _archive_path(Path(path), now)
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file name (or give a directory)")
    target.parent.mkdir(parents=True, exist_ok=True)
    engine = db.engine
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "created_at": now.isoformat(),
        "dialect": engine.dialect.name,
        "alembic_revisions": [],
        "tables": [],
        "files": [],
        "with_files": with_files,
    }
    handle, temporary = tempfile.mkstemp(prefix=".backup-", suffix=".part", dir=target.parent)  # mode 0600
    try:
        with os.fdopen(handle, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            with engine.connect() as connection:
                if connection.dialect.name == "postgresql":
                    connection = connection.execution_options(
                        isolation_level="REPEATABLE READ", postgresql_readonly=True
                    )
                with connection.begin():
                    manifest["alembic_revisions"] = _revisions(connection)
                    if manifest["alembic_revisions"] != _script_heads():
                        raise BackupError(
                            f"the database is at revision {manifest['alembic_revisions'] or 'none'}, "
                            f"this code at {_script_heads()}: run 'flask db upgrade' first"
                        )
                    for table in db.metadata.sorted_tables:
                        manifest["tables"].append(_dump_table(connection, table, archive))
            if with_files:
                manifest["files"] = _add_files(archive, current_app.config)
            archive.writestr(member(MANIFEST), json.dumps(manifest, ensure_ascii=False, indent=2))
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target, manifest


# --- restore ---------------------------------------------------------------------------------


def _reflect(connection: sa.Connection) -> sa.MetaData:
    """The database's tables, without the search's SQLite FTS tables: those are an index of
    ``search_text``, kept by triggers as the rows are deleted and inserted (never data)."""
    metadata = sa.MetaData()
    metadata.reflect(bind=connection, only=lambda name, _: not search.is_index_table(name))
    if "alembic_version" in metadata.tables:
        metadata.remove(metadata.tables["alembic_version"])
    return metadata


def _tables_with_rows(connection: sa.Connection) -> list[str]:
    """The tables that hold data (rows the migrations wrote themselves do not count)."""
    metadata = _reflect(connection)
    return [
        table.name
        for table in metadata.sorted_tables
        if table.name not in SEEDED_BY_MIGRATIONS
        and connection.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first()
    ]


def _migrate_to(revisions: list[str]) -> None:
    """Run the app's migrations up to the backup's revision(s) (one per head)."""
    config = current_app.extensions["migrate"].migrate.get_config()
    try:
        for revision in revisions:
            command.upgrade(config, revision)
    except CommandError as error:
        raise BackupError(f"cannot migrate the database to the backup's revision: {error}") from None
    with db.engine.connect() as connection:
        now = _revisions(connection)
    if now != sorted(revisions):
        raise BackupError(
            f"the database is at revision {now}, the backup at {sorted(revisions)}: "
            "restore into a new, empty database"
        )


def _reset_sequences(connection: sa.Connection, metadata: sa.MetaData) -> None:
    """PostgreSQL: the next id of every serial/identity column follows the highest restored."""
    for table in metadata.sorted_tables:
        key = list(table.primary_key.columns)
        if len(key) != 1 or not isinstance(key[0].type, sa.Integer):
            continue
        connection.execute(
            sa.text(
                f"SELECT setval(pg_get_serial_sequence(:table, :column), "
                f'COALESCE((SELECT MAX("{key[0].name}") FROM "{table.name}"), 0) + 1, false)'
            ),
            {"table": f'"{table.name}"', "column": key[0].name},
        )


def _insert_tables(connection: sa.Connection, archive: zipfile.ZipFile, manifest: dict) -> int:
    metadata = _reflect(connection)
    for table in reversed(metadata.sorted_tables):  # --force's data, or the migrations' own rows
        connection.execute(table.delete())
    missing = [e["name"] for e in manifest["tables"] if e["name"] not in metadata.tables]
    if missing:
        raise BackupError(f"the database has no table {', '.join(missing)} at the backup's revision")
    total = 0
    for entry in manifest["tables"]:
        table, kinds = metadata.tables[entry["name"]], entry["columns"]
        unknown = set(kinds) - set(table.columns.keys())
        if unknown:
            raise BackupError(f"table {table.name} has no column {', '.join(sorted(unknown))}")
        batch: list[dict] = []
        for row in table_rows(archive, entry):
            batch.append({name: decode(kinds[name], value) for name, value in row.items()})
            if len(batch) >= BATCH_ROWS:
                connection.execute(table.insert(), batch)
                batch = []
        if batch:
            connection.execute(table.insert(), batch)
        count = connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        if count != entry["rows"]:
            raise BackupError(
                f"table {table.name}: {count} rows after restore, the backup has {entry['rows']}"
            )
        total += count
    if connection.dialect.name == "postgresql":
        _reset_sequences(connection, metadata)
    return total


def _restore_files(archive: zipfile.ZipFile, manifest: dict, config, force: bool) -> int:
    planned = []
    for entry in manifest["files"]:
        _, area, relative = entry["path"].split("/", 2)
        root = Path(config[FILE_AREAS[area]]).resolve()
        target = (root / relative).resolve()
        if root not in target.parents:
            raise BackupError(f"file {entry['path']} in the backup points outside {root}")
        if target.exists() and not force:
            if hashlib.sha256(target.read_bytes()).hexdigest() == entry["sha256"]:
                continue
            raise BackupError(f"{target} exists with other content (--force replaces it)")
        planned.append((entry, target))
    for entry, target in planned:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.part")
        with archive.open(entry["path"]) as source, partial.open("wb") as out:
            shutil.copyfileobj(source, out)
        os.replace(partial, target)
    return len(planned)


def restore_backup(path: str | Path, *, force: bool = False) -> dict:
    """Restore the archive into this app's database (and its files, if the archive has them)."""
    with zipfile.ZipFile(path) as archive:
        manifest = read_manifest(archive)
        verify_archive(archive, manifest)
        with db.engine.connect() as connection:
            filled = _tables_with_rows(connection)
        if filled and not force:
            raise BackupError(
                f"the database is not empty ({', '.join(filled[:5])}{' …' if len(filled) > 5 else ''} "
                "hold rows): restore into an empty database, or add --force to delete everything first"
            )
        _migrate_to(manifest["alembic_revisions"])
        with db.engine.begin() as connection:
            rows = _insert_tables(connection, archive, manifest)
        files = _restore_files(archive, manifest, current_app.config, force)
    return {"rows": rows, "tables": len(manifest["tables"]), "files": files, "manifest": manifest}


# --- commands --------------------------------------------------------------------------------


def register_cli(app: Flask) -> None:
    @app.cli.command("backup")
    @click.argument("path", type=click.Path(path_type=Path))
    @click.option("--with-files", is_flag=True, help="Also store the photos and imported files.")
    def backup_command(path: Path, with_files: bool) -> None:
        """Write the whole database (all tables, checksummed) to the zip file PATH.

        PATH may be a directory: the file is then named tracker-YYYYMMDD-HHMMSS.zip (UTC).
        """
        written, manifest = create_backup(path, with_files=with_files)
        rows = sum(t["rows"] for t in manifest["tables"])
        click.echo(
            f"backup written: {written} ({len(manifest['tables'])} tables, {rows} rows, "
            f"{len(manifest['files'])} files, revision {','.join(manifest['alembic_revisions'])}, "
            f"{written.stat().st_size} bytes)"
        )

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Delete every row (and replace files) first.")
    @click.option("--check", is_flag=True, help="Only verify the archive's checksums; change nothing.")
    def restore_command(path: Path, force: bool, check: bool) -> None:
        """Restore the backup PATH into an empty database (migrated to the backup's revision)."""
        if check:
            with zipfile.ZipFile(path) as archive:
                manifest = read_manifest(archive)
                verify_archive(archive, manifest)
            rows = sum(t["rows"] for t in manifest["tables"])
            click.echo(
                f"backup ok: made {manifest['created_at']} on {manifest['dialect']}, revision "
                f"{','.join(manifest['alembic_revisions'])}, {rows} rows, {len(manifest['files'])} files"
            )
            return
        summary = restore_backup(path, force=force)
        revisions = ",".join(summary["manifest"]["alembic_revisions"])
        click.echo(
            f"restored {summary['rows']} rows into {summary['tables']} tables and {summary['files']} files; "
            f"database at revision {revisions} (run 'flask db upgrade' if this code is newer)"
        )
