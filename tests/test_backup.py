"""``flask backup`` / ``flask restore``: every table and file comes back exactly, on its backend.

Data is made with the factories and committed for real to a database of its own
(``<test database>_backup_src``), backed up through the CLI, and restored into another empty
one (``_backup_dst``); both are compared table by table, row by row, every column.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from tracker import create_app, workflow
from tracker.extensions import db
from tracker.models import Bureau, HistoryEvent, Photo, WardFund
from tracker.ops_models import Notification
from tracker.safeguards.archive import decode, encode
from tracker.states import IssueState, Role

from .factories import TODAY, Factory, png_bytes
from .support import build_app, database_url_for_tests, drop_database, empty_schema

# Tables the test data must fill, so the comparison means something.
FILLED = {
    "wards",
    "centers",
    "bureaus",
    "categories",
    "users",
    "reference_counters",
    "requests",
    "ward_issues",
    "ward_issue_related_bureaus",
    "budget_lines",
    "ward_funds",
    "progress_notes",
    "photos",
    "history_events",
    "job_outbox",
    "notifications",
}
IMPORT_FILE = "batch-0001.csv"


def _fill(make: Factory) -> None:
    """Requests with photos and coordinates, issues in many states, money, notes, notifications."""
    session = make.session
    liaison, manager, staff = make.liaison(), make.manager(), make.staff("環境局")
    make.request(liaison, photos=[(io.BytesIO(png_bytes()), "街灯.png")])
    make.request(
        liaison,
        title="歩道の段差",
        latitude=Decimal("32.803123"),
        longitude=Decimal("130.707891"),
        photos=[(io.BytesIO(png_bytes(color=(0, 90, 200))), "段差.png")],
    )
    draft = make.issue(IssueState.DRAFT, manager=manager, staff=staff)
    related = {"related_bureaus": [make.bureau("都市建設局").id]}
    workflow.apply(session, manager, draft, "edit", related, today=TODAY)
    for state in (
        IssueState.CONSULTING,
        IssueState.NOT_ADOPTED,
        IssueState.IMPLEMENTING,
        IssueState.COMPLETED,
        IssueState.WITHDRAWN,
    ):
        make.issue(state, manager=manager, staff=staff)
    implementing = make.issue(IssueState.IMPLEMENTING, manager=manager, staff=staff)
    workflow.apply(session, staff, implementing, "note", {"body": "工事の入札を公告した"}, today=TODAY)
    make.approved_publication(implementing, manager)
    session.add(WardFund(ward_id=manager.ward_id, fiscal_year=2024, allocated_yen=100_000_000))
    session.commit()
    funded = make.request(liaison, title="防犯灯の設置")
    workflow.apply(
        session,
        manager,
        funded,
        "fund_from_ward",
        {"fiscal_year": 2024, "project_name": "防犯灯設置", "allocated_yen": 350_000},
        today=TODAY,
    )
    answered = make.request(liaison, title="ごみ置き場の移設")
    workflow.apply(
        session,
        liaison,
        answered,
        "answer",
        {"answer_kind": "resolved", "answer_text": "移設しました", "answered_on": TODAY},
        today=TODAY,
    )
    session.commit()


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """An app on ``_backup_src`` holding committed test data, and its instance files."""
    tmp = tmp_path_factory.mktemp("backup_src")
    url = database_url_for_tests(tmp, suffix="_backup_src")
    app = build_app(url, tmp / "instance", REDIS_URL=None)  # jobs (notifications) run inline
    with app.app_context():
        _fill(Factory(db.session))
        db.session.remove()
    imports = Path(app.config["IMPORT_DIR"])
    imports.mkdir(parents=True, exist_ok=True)
    (imports / IMPORT_FILE).write_text("受付日,件名\n2024-06-03,街灯\n", encoding="utf-8")
    yield app
    with app.app_context():
        db.engine.dispose()
    drop_database(url)


def empty_app(url: str, instance: Path):
    """An app on a database with nothing in it: no tables, no revision."""
    empty_schema(url)
    engine = sa.create_engine(url)
    assert sa.inspect(engine).get_table_names() == []
    engine.dispose()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSTANCE_PATH", str(instance))
        return create_app(
            {
                "APP_ENV": "testing",
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "test-secret",
                "PHOTO_DIR": str(instance / "photos"),
                "REDIS_URL": None,
            }
        )


@pytest.fixture(scope="module")
def archive(source, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("backups") / "tracker.zip"
    result = source.test_cli_runner().invoke(args=["backup", str(path), "--with-files"])
    assert result.exit_code == 0, result.output
    assert "backup written" in result.output
    return path


@pytest.fixture(scope="module")
def target(archive, tmp_path_factory):
    """An app on the empty ``_backup_dst``, with the archive restored into it."""
    tmp = tmp_path_factory.mktemp("backup_dst")
    url = database_url_for_tests(tmp, suffix="_backup_dst")
    app = empty_app(url, tmp / "instance")
    result = app.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 0, result.output
    assert "restored" in result.output
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    drop_database(url)


def rows_of(app, table: sa.Table) -> list[tuple]:
    with app.app_context(), db.engine.connect() as connection:
        order = list(table.primary_key.columns)
        return [tuple(row) for row in connection.execute(sa.select(table).order_by(*order))]


def revisions_of(app) -> list[str]:
    with app.app_context(), db.engine.connect() as connection:
        return sorted(connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars())


def assert_same_data(source, target) -> None:
    for table in db.metadata.sorted_tables:
        expected = rows_of(source, table)
        assert rows_of(target, table) == expected, table.name
        if table.name in FILLED:
            assert expected, f"the test data leaves {table.name} empty"
    assert revisions_of(target) == revisions_of(source)


def test_the_archive_has_a_header_with_revision_counts_and_checksums(source, archive):
    with zipfile.ZipFile(archive) as opened:
        manifest = json.loads(opened.read("manifest.json"))
        assert manifest["format"] == "ward-tracker-backup" and manifest["format_version"] == 1
        assert manifest["alembic_revisions"] == revisions_of(source)
        assert dt.datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
        names = [entry["name"] for entry in manifest["tables"]]
        assert names == [table.name for table in db.metadata.sorted_tables]  # parents first
        for entry in manifest["tables"]:
            data = opened.read(f"tables/{entry['name']}.jsonl")
            assert hashlib.sha256(data).hexdigest() == entry["sha256"]
            assert (
                len(data.splitlines())
                == entry["rows"]
                == len(rows_of(source, db.metadata.tables[entry["name"]]))
            )
        paths = {entry["path"] for entry in manifest["files"]}
        assert f"files/imports/{IMPORT_FILE}" in paths
        assert sum(p.startswith("files/photos/") for p in paths) == 2
    assert archive.stat().st_mode & 0o077 == 0  # it holds residents' personal data


def test_restore_brings_back_every_row_of_every_table(source, target):
    assert_same_data(source, target)


def test_restore_brings_back_the_photos_and_imported_files(source, target):
    with source.app_context():
        stored = db.session.execute(sa.select(Photo.stored_name)).scalars().all()
        db.session.remove()
    assert len(stored) == 2
    for name in stored:
        original = Path(source.config["PHOTO_DIR"]) / name
        assert (Path(target.config["PHOTO_DIR"]) / name).read_bytes() == original.read_bytes()
    restored_import = Path(target.config["IMPORT_DIR"]) / IMPORT_FILE
    assert restored_import.read_text(encoding="utf-8").startswith("受付日,件名")


def test_restored_history_still_verifies(target):
    if "audit" not in target.cli.commands:
        pytest.skip("no 'flask audit' in this build")
    with target.app_context():  # a plain click group: the real `flask` pushes the context itself
        result = target.test_cli_runner().invoke(args=["audit", "verify"])
        db.session.remove()
    assert result.exit_code == 0, result.output


def test_restored_search_finds_what_the_source_found(source, target):
    """The FTS tables (SQLite) are an index, not data: restore refills them through triggers."""
    from tracker.finding import search
    from tracker.models import ServiceRequest

    def hits(app):
        with app.app_context(), db.engine.connect() as connection:
            found = {}
            for q in ("防犯灯", "街灯", "ごみ置き場", "段差"):
                statement = sa.select(ServiceRequest.id).where(search.matching(ServiceRequest, q))
                found[q] = sorted(connection.execute(statement).scalars())
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql(
                    "INSERT INTO requests_fts(requests_fts) VALUES ('integrity-check')"
                )
            return found

    expected = hits(source)
    assert all(expected.values())
    assert hits(target) == expected


def test_restore_refuses_a_database_that_holds_rows(target, archive):
    before = {t.name: len(rows_of(target, t)) for t in db.metadata.sorted_tables}
    result = target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code != 0
    assert "not empty" in result.output and "--force" in result.output
    assert {t.name: len(rows_of(target, t)) for t in db.metadata.sorted_tables} == before


def test_restore_refuses_a_seeded_database(archive, tmp_path):
    """Master data alone makes a database not empty: nothing is mixed into it."""
    url = database_url_for_tests(tmp_path, suffix="_backup_seeded")
    app = build_app(url, tmp_path / "instance")
    try:
        result = app.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code != 0 and "not empty" in result.output
    finally:
        with app.app_context():
            db.engine.dispose()
        drop_database(url)


def test_a_damaged_archive_is_refused_before_anything_changes(target, archive, tmp_path):
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(damaged, "w") as out:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "tables/bureaus.jsonl":
                data = data.replace("環境局".encode(), "環境部".encode())
            out.writestr(item, data)
    before = rows_of(target, db.metadata.tables["bureaus"])
    runner = target.test_cli_runner()
    checked = runner.invoke(args=["restore", "--check", str(damaged)])
    assert checked.exit_code != 0 and "damaged" in checked.output
    forced = runner.invoke(args=["restore", "--force", str(damaged)])
    assert forced.exit_code != 0 and "damaged" in forced.output
    assert rows_of(target, db.metadata.tables["bureaus"]) == before
    assert runner.invoke(args=["restore", "--check", str(archive)]).exit_code == 0


def test_backup_never_overwrites_a_file(source, archive):
    result = source.test_cli_runner().invoke(args=["backup", str(archive)])
    assert result.exit_code != 0 and "exists" in result.output


def test_a_directory_gets_a_dated_file(source, tmp_path):
    result = source.test_cli_runner().invoke(args=["backup", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = list(tmp_path.glob("tracker-*.zip"))
    assert len(written) == 1
    with zipfile.ZipFile(written[0]) as opened:
        assert json.loads(opened.read("manifest.json"))["files"] == []  # no --with-files


def test_force_replaces_everything_and_new_rows_get_fresh_ids(source, target, archive):
    """Runs last in this module: it adds rows to the restored database."""
    with target.app_context():  # something to replace
        db.session.add(Bureau(name="臨時局", sort_order=99))
        db.session.commit()
        db.session.remove()
    result = target.test_cli_runner().invoke(args=["restore", "--force", str(archive)])
    assert result.exit_code == 0, result.output
    assert_same_data(source, target)

    with target.app_context():
        highest = {
            model: db.session.execute(sa.select(sa.func.max(model.id))).scalar_one()
            for model in (Bureau, HistoryEvent, Notification)
        }
        make = Factory(db.session)
        bureau = Bureau(name="新設局", sort_order=100)
        db.session.add(bureau)
        db.session.commit()  # on PostgreSQL this collides unless the sequence was moved on
        assert bureau.id == highest[Bureau] + 1
        manager = make.manager()
        issue = workflow.create_issue(
            db.session, manager, {"title": "復元後の課題", "lead_bureau": None}, today=TODAY
        )
        db.session.commit()
        assert issue.events[0].id > highest[HistoryEvent]
        assert manager.role == Role.WARD_MANAGER
        db.session.remove()


@pytest.mark.parametrize(
    "kind, value",
    [
        ("datetime", dt.datetime(2024, 6, 3, 1, 2, 3, 456789, tzinfo=dt.UTC)),
        ("datetime", dt.datetime(2024, 6, 3, 10, 2, 3, tzinfo=dt.timezone(dt.timedelta(hours=9)))),
        ("datetime", dt.datetime(2024, 6, 3, 1, 2, 3)),
        ("date", dt.date(1989, 1, 8)),
        ("time", dt.time(23, 59, 59, 999999)),
        ("decimal", Decimal("130.707891")),
        ("decimal", Decimal("-0.000001")),
        ("float", 0.1),
        ("bytes", bytes(range(256))),
        ("json", {"executed_yen": {"12": 20_900_000}, "list": [1, None, "熊本"], "flag": True}),
        ("plain", 10**13),
        ("plain", "区重要課題 ①"),
        ("plain", None),
    ],
)
def test_values_round_trip_exactly(kind, value):
    written = json.loads(json.dumps(encode(kind, value), ensure_ascii=False))
    restored = decode(kind, written)
    assert restored == value and type(restored) is type(value)
    if isinstance(value, dt.datetime):
        assert restored.utcoffset() == value.utcoffset()
