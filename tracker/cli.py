"""Command-line tasks: ``flask seed`` loads the city's master data (and ``--demo`` accounts)."""

import click
from flask import Flask, current_app

from .background import jobs, reminders, worker
from .city import (
    demo_activities,
    demo_calendar,
    demo_practices,
    demo_requests,
    demo_teamwork,
    indicator_defaults,
    masterdata,
)
from .extensions import db
from .formatting import today_in_tokyo
from .safeguards import audit, backup, personal_data


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
            demo_teamwork.load_demo_teamwork(
                db.session, current_app.config["ATTACHMENT_DIR"], today_in_tokyo()
            )
            demo_calendar.load_demo_calendar(db.session, today_in_tokyo())
            demo_practices.load_demo_practices(db.session, today_in_tokyo())
            demo_activities.load_demo_activities(db.session, today_in_tokyo())
            indicator_defaults.load_demo_indicators(db.session, today_in_tokyo())
        db.session.commit()
        click.echo("master data loaded" + (" with demo accounts" if demo else ""))

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Stop when the queue is empty (for tests).")
    def run_worker(burst: bool) -> None:
        """Run the RQ worker, its scheduler and the outbox relay (needs REDIS_URL)."""
        worker.run_worker(current_app._get_current_object(), burst=burst)

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
