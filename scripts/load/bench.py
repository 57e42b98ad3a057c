"""``make bench``: why the lists page by keyset, and why exports stream. Prints ratios; asserts nothing.

On a throwaway SQLite database (a temporary folder), and on PostgreSQL when it is reachable
(``BENCH_DATABASE_URL``, default ``postgresql://postgres@127.0.0.1:5432/tracker_bench``; the
database name must contain "bench": it is dropped and created again), it:

1. builds the schema with the migrations and loads the city's master data;
2. bulk-inserts ``BENCH_ROWS`` requests (default 200,000: a few minutes in all on a laptop),
   received over five fiscal years, so about a hundred share each received date (ties);
3. times (median of several runs) the rows query of the requests list as the admin sees it
   (received date, newest first): the first page, the last page by keyset (``after`` the
   cursor of the row before it), and the same last page by OFFSET; then the exact COUNT (an
   export's) and the capped COUNT a page shows; and the same for one ward (a ward manager's);
4. measures the peak memory (tracemalloc) and the time of a CSV export of 10,000 and of
   100,000 rows (the real export code: ``yield_per`` streaming and ``exports.csv_chunks``).

Not part of ``make test``; nothing here can fail a build. Run: ``make bench`` (or
``.venv/bin/python scripts/bench.py [rows]``).
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from tracker import create_app
from tracker.city import masterdata
from tracker.extensions import db
from tracker.finding import exports, keyset, list_pages, listing, queries
from tracker.finding.search import normalize
from tracker.models import Category, Center, ServiceRequest, User, utcnow
from tracker.states import RequestState, Role, Source

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/tracker_bench"
BATCH = 10_000
REPEATS = 5
PAGE = keyset.PAGE_SIZE
SOURCES = list(Source)
STATES = [RequestState.RECEIVED, RequestState.ANSWERED, RequestState.ANSWERED, RequestState.REFERRED]
TITLES = ["街灯が切れている", "公園の遊具の破損", "ごみステーションの移設", "道路の陥没", "防犯灯の増設"]


def say(message: str = "") -> None:
    print(message, flush=True)


def median_seconds(run, repeats: int = REPEATS) -> float:
    run()  # warm the cache once
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.2f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:7.1f}x" if b else "   n/a"


# --- the database ----------------------------------------------------------------------------


def fresh_postgres(url: str) -> str | None:
    """Drop and create the bench database; None (with a note) when PostgreSQL is not there."""
    target = make_url(url).set(drivername="postgresql+psycopg")
    if "bench" not in (target.database or ""):
        say(f"PostgreSQL skipped: the database name {target.database!r} must contain 'bench'.")
        return None
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
            connection.exec_driver_sql(
                f"CREATE DATABASE \"{target.database}\" ENCODING 'UTF8' TEMPLATE template0"
            )
    except Exception as error:  # any failure means: no PostgreSQL here
        say(f"PostgreSQL skipped: not reachable at {target.render_as_string()} ({error.__class__.__name__}).")
        return None
    finally:
        admin.dispose()
    return target.render_as_string(hide_password=False)


def build(url: str, instance: Path):
    os.environ["INSTANCE_PATH"] = str(instance)
    app = create_app(
        {
            "APP_ENV": "testing",
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": secrets.token_hex(32),
            "PHOTO_DIR": str(instance / "photos"),
        }
    )
    with app.app_context():
        upgrade()
        masterdata.load_master_data(db.session)
        db.session.commit()
    return app


def add_users() -> tuple[User, User]:
    center = db.session.execute(select(Center).order_by(Center.id)).scalars().first()
    admin = User(login="bench-admin", display_name="bench admin", password_hash="x", role=Role.ADMIN)
    manager = User(
        login="bench-manager",
        display_name="bench manager",
        password_hash="x",
        role=Role.WARD_MANAGER,
        ward_id=center.ward_id,
    )
    liaison = User(
        login="bench-liaison",
        display_name="bench liaison",
        password_hash="x",
        role=Role.LIAISON,
        ward_id=center.ward_id,
        center_id=center.id,
    )
    db.session.add_all([admin, manager, liaison])
    db.session.commit()
    return admin, manager


def bulk_insert(rows: int) -> float:
    """``rows`` requests by executemany, ``BATCH`` at a time; the seconds it took."""
    centers = db.session.execute(select(Center.id, Center.ward_id).order_by(Center.id)).all()
    categories = db.session.execute(select(Category.id)).scalars().all()
    logged_by = db.session.execute(select(User.id).where(User.login == "bench-liaison")).scalar_one()
    first_day = dt.date(2020, 4, 1)
    now = utcnow()
    table = ServiceRequest.__table__
    start = time.perf_counter()
    for offset in range(0, rows, BATCH):
        batch = []
        for n in range(offset, min(rows, offset + BATCH)):
            center_id, ward_id = centers[n % len(centers)]
            received = first_day + dt.timedelta(days=(n * 7919) % 1826)  # ~110 per day: ties
            title = f"{TITLES[n % len(TITLES)]} {n}"
            reference = f"B-{received.year}-{n:07d}"
            batch.append(
                {
                    "reference": reference,
                    "fiscal_year": received.year if received.month >= 4 else received.year - 1,
                    "title": title,
                    "description": "公園前の街灯が1週間ほど消えたまま",
                    "category_id": categories[n % len(categories)],
                    "center_id": center_id,
                    "ward_id": ward_id,
                    "source": SOURCES[n % len(SOURCES)],
                    "organisation": "大江町内自治会",
                    "requester_name": "熊本 太郎",
                    "requester_contact": "096-000-0000",
                    "received_on": received,
                    "answer_due_on": received + dt.timedelta(days=14),
                    "state": STATES[n % len(STATES)],
                    "logged_by_id": logged_by,
                    "created_at": now,
                    "updated_at": now,
                    "search_text": normalize(f"{reference} {title}"),
                }
            )
        db.session.execute(insert(table), batch)
        db.session.commit()
        say(f"  inserted {min(rows, offset + BATCH):,} / {rows:,}")
    db.session.execute(text("ANALYZE"))  # both databases: let the planner see the new rows
    db.session.commit()
    return time.perf_counter() - start


# --- the measurements ------------------------------------------------------------------------


def paging(user: User, who: str) -> None:
    base = queries.requests_for(user)
    flt = listing.parse({}, listing.REQUESTS, {"state": {}})
    total = db.session.execute(keyset.count_statement(base, flt)).scalar_one()
    deep = max(0, total - PAGE)  # the last page
    order = keyset.ordered(base, flt)
    before = db.session.execute(
        order.with_only_columns(ServiceRequest.received_on, ServiceRequest.id).offset(deep - 1).limit(1)
    ).one()
    cursor = listing.encode_cursor(flt.sort, flt.direction, before.received_on, before.id)
    deep_flt = listing.parse({"after": cursor}, listing.REQUESTS, {"state": {}})

    def rows_of(statement):
        return [r.id for r in db.session.execute(statement).unique().scalars()]

    def first_page():
        return rows_of(order.limit(PAGE))

    def keyset_deep():
        statement = base.order_by(None).where(
            keyset._beyond(deep_flt, deep_flt.after[0], deep_flt.after[1], True)
        )
        return rows_of(statement.order_by(*keyset._ordering(deep_flt, True)).limit(PAGE))

    def offset_deep():
        return rows_of(order.offset(deep).limit(PAGE))

    def count():
        return db.session.execute(keyset.count_statement(base, flt)).scalar_one()

    def capped_count():
        return db.session.execute(keyset.count_statement(base, flt, cap=keyset.COUNT_CAP)).scalar_one()

    def whole_page():
        return keyset.page(db.session, base, deep_flt)

    same = keyset_deep() == offset_deep()
    t_first, t_keyset, t_offset = (median_seconds(f) for f in (first_page, keyset_deep, offset_deep))
    t_count, t_capped = median_seconds(count), median_seconds(capped_count)
    t_page = median_seconds(whole_page)
    say(f"  {who}: {total:,} rows; the last page starts at row {deep + 1:,} (same rows both ways: {same})")
    say(f"    first page, rows query        {ms(t_first)}")
    say(f"    last page by keyset           {ms(t_keyset)}   {ratio(t_keyset, t_first)} the first page")
    say(f"    last page by OFFSET           {ms(t_offset)}   {ratio(t_offset, t_keyset)} the keyset page")
    say(f"    exact COUNT (an export's)     {ms(t_count)}")
    capped = f"COUNT capped at {keyset.COUNT_CAP:,} (a page's)"
    say(f"    {capped}{ms(t_capped)}   {ratio(t_count, t_capped)} faster")
    say(f"    a whole deep page (COUNT+rows){ms(t_page)}")


def export_memory(user: User) -> None:
    base = queries.requests_for(user)
    flt = listing.parse({}, listing.REQUESTS, {"state": {}})
    columns = list_pages.request_columns(True, user)
    results = {}
    for rows in (10_000, 100_000):
        statement = keyset.ordered(base, flt).limit(rows)
        db.session.expunge_all()
        tracemalloc.start()
        start = time.perf_counter()
        size = sum(len(chunk) for chunk in exports.csv_chunks(columns, list_pages.streamed(statement)))
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        results[rows] = (peak, seconds, size)
        written = f"{size / 1e6:7.1f} MB written"
        say(f"    CSV of {rows:>7,} rows: {written}, peak {peak / 1e6:6.1f} MB, {seconds:6.2f} s")
    (p10, s10, _), (p100, s100, _) = results[10_000], results[100_000]
    say(f"    10x the rows: peak memory {ratio(p100, p10)}, time {ratio(s100, s10)}")


def run(name: str, url: str, rows: int) -> None:
    say(f"\n== {name} ==")
    with tempfile.TemporaryDirectory(prefix="tracker-bench-") as folder:
        app = build(url, Path(folder))
        with app.app_context():
            admin, manager = add_users()
            seconds = bulk_insert(rows)
            say(f"  bulk insert of {rows:,} requests: {seconds:.1f} s")
            say("  list paging (page size 50, received date newest first):")
            paging(admin, "admin, every ward")
            paging(manager, "ward manager, one ward")
            say("  export memory (tracemalloc):")
            export_memory(admin)
            db.session.remove()
            db.engine.dispose()


def main() -> int:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("BENCH_ROWS", "200000"))
    rows = max(rows, 100_000 + PAGE)  # the export measurement needs 100,000 rows
    say(f"make bench: {rows:,} requests per database; ratios, no assertions.")
    with tempfile.TemporaryDirectory(prefix="tracker-bench-db-") as folder:
        run("SQLite", f"sqlite:///{Path(folder) / 'bench.db'}", rows)
    url = fresh_postgres(os.environ.get("BENCH_DATABASE_URL", DEFAULT_PG))
    if url:
        try:
            run("PostgreSQL", url, rows)
        finally:
            admin = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
            admin.dispose()
    return 0
