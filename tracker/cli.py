"""Command-line tasks: ``flask seed`` loads the city's master data (and ``--demo`` accounts),
``flask gen-data`` adds synthetic requests at scale on top of it."""

import resource
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from .background import export_job, jobs, reminders, worker
from .city import (
    choices,
    demo_activities,
    demo_answer_templates,
    demo_calendar,
    demo_open311,
    demo_practices,
    demo_requests,
    demo_teamwork,
    demo_triage,
    indicator_defaults,
    masterdata,
    synthetic,
)
from .effects import counters
from .extensions import db
from .formatting import today_in_tokyo
from .models import User
from .open311 import keys
from .safeguards import audit, backup, personal_data
from .workflow import WorkflowError


def register_cli(app: Flask) -> None:
    @app.cli.command("seed")
    @click.option("--demo", is_flag=True, help="Also load demo accounts and demo ward issues.")
    def seed(demo: bool) -> None:
        """Load master data (idempotent); with --demo, demo accounts and past issues too."""
        if demo and current_app.config["APP_ENV"] == "production":
            raise click.ClickException(
                "--demo is refused in production: the demo accounts share a published password."
            )
        masterdata.load_master_data(db.session)
        if demo:
            masterdata.load_demo_users(db.session)
            masterdata.load_demo_issues(db.session, current_app.config["PHOTO_DIR"])
            demo_requests.load_demo_requests(db.session, current_app.config["PHOTO_DIR"], today_in_tokyo())
            demo_triage.load_demo_triage(db.session, today_in_tokyo())
            demo_teamwork.load_demo_teamwork(
                db.session, current_app.config["ATTACHMENT_DIR"], today_in_tokyo()
            )
            demo_calendar.load_demo_calendar(db.session, today_in_tokyo())
            demo_practices.load_demo_practices(db.session, today_in_tokyo())
            demo_activities.load_demo_activities(db.session, today_in_tokyo())
            indicator_defaults.load_demo_indicators(db.session, today_in_tokyo())
            demo_open311.load_demo_open311(db.session)
            demo_open311.load_demo_arrivals(
                db.session,
                photo_dir=current_app.config["PHOTO_DIR"],
                answer_due_days=current_app.config["ANSWER_DUE_DAYS"],
                today=today_in_tokyo(),
            )
            demo_answer_templates.load_demo_answer_templates(db.session)
        db.session.commit()
        click.echo("master data loaded" + (" with demo accounts" if demo else ""))

    @app.cli.command("gen-data")
    @click.option("--requests", "count", type=click.IntRange(1, 10_000_000), required=True, help="How many.")
    @click.option("--seed", type=int, default=1, show_default=True, help="The same seed, the same data.")
    def gen_data(count: int, seed: int) -> None:
        """Add COUNT synthetic requests over ten fiscal years (after `flask seed`; never in production)."""
        if current_app.config["APP_ENV"] == "production":
            raise click.ClickException("gen-data is refused in production: it adds invented requests.")
        started = time.monotonic()

        def progress(done: int, total: int) -> None:
            click.echo(f"{done:,} / {total:,} requests ({time.monotonic() - started:.0f} s)", err=True)

        try:
            summary = synthetic.generate(
                db.session,
                count,
                seed,
                progress,
                answer_due_days=current_app.config["ANSWER_DUE_DAYS"],
                today=today_in_tokyo(),
            )
        except synthetic.MissingMasterData as error:
            raise click.ClickException(str(error)) from None
        click.echo(f"added {summary.describe()} in {time.monotonic() - started:.0f} s")

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queue is empty (for tests).")
    def run_worker(burst: bool) -> None:
        """Run the RQ worker, its scheduler and the outbox relay (needs REDIS_URL)."""
        worker.run_worker(current_app._get_current_object(), burst=burst)

    _register_api_keys(app)
    _register_counts(app)
    _register_exports(app)
    reminders.register_cli(app)
    backup.register_cli(app)
    audit.register_cli(app)
    personal_data.register_cli(app)
    jobs_group = click.Group("jobs", help="Background work.")
    app.cli.add_command(jobs_group)

    @jobs_group.command("relay")
    def relay() -> None:
        """Hand over jobs left pending, and restart jobs whose worker died."""
        counts = jobs.relay_outbox()
        click.echo(" ".join(f"{key}={value}" for key, value in counts.items()))


def _register_exports(app: Flask) -> None:
    @app.cli.command("export-requests")
    @click.option("--user", "login", required=True, help="Export what this user's 要望一覧 shows.")
    @click.option("--format", "fmt", type=click.Choice(export_job.MIMETYPES), default="csv")
    @click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The file to write.")
    def export_requests(login: str, fmt: str, out: str) -> None:
        """Write every request LOGIN may see, as the export job does, and record the export."""
        user = db.session.scalars(select(User).where(User.login == login)).one_or_none()
        if user is None:
            raise click.ClickException(f"no user {login!r}")
        started = time.monotonic()
        with jobs.in_language(user.locale):
            rows = export_job.run_export(
                db.session,
                user,
                endpoint=export_job.REQUESTS_LIST,
                pairs=[],
                fmt=fmt,
                what="要望一覧",
                personal=False,
                ip="",
                path=Path(out),
                today=today_in_tokyo(),
            )
        db.session.commit()
        seconds = time.monotonic() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        click.echo(
            f"rows={rows} seconds={seconds:.2f} rows_per_second={rows / max(seconds, 1e-9):.0f} "
            f"peak_rss_mb={peak_mb:.0f}"
        )


def _register_api_keys(app: Flask) -> None:
    """``flask api-key create|list|revoke``: the Open311 keys, as on the admin's page."""
    group = click.Group("api-key", help="Open311 API keys (stored hashed; a new key is printed once).")
    app.cli.add_command(group)

    def _refuse(error: WorkflowError) -> None:
        db.session.rollback()
        raise click.ClickException(error.message)

    @group.command("create")
    @click.option("--name", required=True, help="The client's name (shown as 「アプリ (name)」).")
    @click.option(
        "--center", default=None, help="Scope the key to one center (its name or id); else city-wide."
    )
    @click.option("--limit", "limit", default=60, type=int, show_default=True, help="Requests per minute.")
    def create(name: str, center: str | None, limit: int) -> None:
        """Create a key and print it, once: it is stored only as a hash."""
        center_id = None
        if center:
            found = choices.center_named(db.session, center)
            if found is None:
                raise click.ClickException(f"まちづくりセンター「{center}」が見つかりません。")
            center_id = found.id
        try:
            key, plain = keys.create_key(
                db.session, None, name=name, center_id=center_id, rate_limit_per_minute=limit
            )
            db.session.commit()
        except WorkflowError as error:
            _refuse(error)
        scope = f"{key.center.ward.name} {key.center.name}" if key.center else "市全体"
        click.echo(f"API key 「{key.name}」 ({scope}, {key.rate_limit_per_minute}/min):")
        click.echo(plain)
        click.echo("This key is not stored and cannot be shown again.")

    @group.command("list")
    def list_keys() -> None:
        """Every key: name, prefix, scope, limit, created, last used, revoked."""
        for key in keys.all_keys(db.session):
            scope = f"{key.center.ward.name} {key.center.name}" if key.center else "市全体"
            state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "-"
            click.echo(
                f"{key.name}\t{key.key_prefix}…\t{scope}\t{key.rate_limit_per_minute}/min\t"
                f"created {key.created_at:%Y-%m-%d}\tlast used {used}\t{state}"
            )

    @group.command("revoke")
    @click.argument("name")
    def revoke(name: str) -> None:
        """Refuse the key NAME from now on (its requests stay attributed to it)."""
        key = keys.key_named(db.session, name)
        if key is None:
            raise click.ClickException(f"APIキー「{name}」はありません。")
        try:
            keys.revoke_key(db.session, None, key)
            db.session.commit()
        except WorkflowError as error:
            _refuse(error)
        click.echo(f"API key 「{name}」 revoked.")


def _register_counts(app: Flask) -> None:
    """``flask counts rebuild|check``: the summary tables the dashboards read (``effects.counters``)."""
    group = AppGroup("counts", help="The summary tables of the dashboards' counts.")
    app.cli.add_command(group)

    @group.command("rebuild")
    def rebuild() -> None:
        """Recompute every summary table from the requests and ward issues (e.g. after a COPY)."""
        counters.rebuild(db.session)
        db.session.commit()
        click.echo("summary tables rebuilt")

    @group.command("check")
    def check() -> None:
        """Compare every summary table with a fresh count; list the differences, exit 1 if any."""
        found = counters.differences(db.session)
        db.session.rollback()
        for table, key, kept, fresh in found:
            click.echo(f"{table} {key}: kept {kept}, counted {fresh}")
        if found:
            raise click.exceptions.Exit(1)
        click.echo("summary tables match the data")
