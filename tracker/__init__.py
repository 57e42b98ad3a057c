"""The application factory."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import flask_babel
from flask import Flask, current_app, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from . import (  # noqa: F401  (every table)
    activity_models,
    formatting,
    monitoring_models,
    open311_models,
    ops_models,
    summary_models,
    teamwork_models,
)
from .blueprints import language, statement_count
from .blueprints.security_policy import content_security_policy
from .config import load_config
from .extensions import Talisman, babel, csrf, db, login_manager, migrate
from .model_types import StoredValueError, install_bounds
from .wording import N_

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH", str(PROJECT_ROOT / "instance")),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
    )
    app.config.update(load_config(app.instance_path, overrides))
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    db.init_app(app)
    statement_count.init_app(app)  # first hook of every request: counts all its SQL
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    _init_security_headers(app)
    language.init_language(app, babel, PROJECT_ROOT / "translations")
    _init_login(app)
    app.before_request(language.remember_language)
    _register_blueprints(app)
    app.before_request(_refuse_nul_characters)  # after the session and language are known
    _register_template_helpers(app)
    _register_error_handlers(app)

    _wire_listeners()
    _check_search(app)
    from .cli import register_cli

    register_cli(app)
    return app


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite: enforce foreign keys, wait for locks instead of failing, let readers run.

    The driver's own transaction handling is turned off (it never emits BEGIN, which breaks
    savepoints); ``_sqlite_begin`` starts every transaction instead.
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection):
    """SQLite: take the write lock at the start, so two writers queue instead of deadlocking."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _wire_listeners() -> None:
    """Hang the side effects on the layers below, once per process however many apps are made.

    The search text, the summary counts and the history's hash chain are kept by ORM
    listeners, and so is the clean-up of files written for rows that a rollback discarded;
    notifications hear of the workflow's events; and the modules that define background jobs
    (``@jobs.job``) are imported so that every process, a worker's included, knows them all.
    """
    from .background import export_job, importer, notifications, reminders  # noqa: F401  (they define jobs)
    from .effects import counters, events, stored_files
    from .finding import search
    from .reporting import reports  # noqa: F401  (defines a job)
    from .safeguards import audit, personal_data, security_log  # noqa: F401  (they define jobs)

    install_bounds()
    search.register()
    counters.register()
    audit.register()
    stored_files.register()
    events.subscribe("notifications", notifications.after_event)


def _init_login(app: Flask) -> None:
    from .models import User
    from .safeguards import accounts

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = N_("ログインしてください。")
    login_manager.localize_callback = _
    login_manager.login_message_category = "warning"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        return accounts.load_session_user(db.session, user_id)


# No inline script or style anywhere: templates use static/app.css and static/*.js only.
def _init_security_headers(app: Flask) -> None:
    """CSP, nosniff, Referrer-Policy, frame denial; HTTPS forced and HSTS in production only.
    The session cookie flags come from the config (``SESSION_COOKIE_*``); Talisman keeps them."""
    if app.config["TRUSTED_PROXY_COUNT"]:
        hops = app.config["TRUSTED_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    production = app.config["APP_ENV"] == "production"
    app.extensions["talisman"] = Talisman(
        app,
        force_https=production,
        strict_transport_security=production,
        content_security_policy=content_security_policy(app.config.get("MAP_TILE_URL", "")),
        referrer_policy="same-origin",
        frame_options="DENY",
        x_content_type_options=True,
        session_cookie_secure=app.config["SESSION_COOKIE_SECURE"],
        session_cookie_http_only=app.config["SESSION_COOKIE_HTTPONLY"],
        session_cookie_samesite=app.config["SESSION_COOKIE_SAMESITE"],
    )
    app.after_request(_no_store_for_staff)


def _no_store_for_staff(response):
    """What logged-in staff get carries residents' or staff data: no browser or proxy may keep
    a copy. That holds for files too (CSV, XLSX, photos, attachments, report files), whose
    ``send_file`` would otherwise have set a caching header of its own; only static files keep
    theirs."""
    if request.endpoint != "static" and current_user.is_authenticated:
        response.headers["Cache-Control"] = "private, no-store"
    return response


def _refuse_nul_characters():
    """A query string, form or file name with a NUL character is refused whole (400).

    No input of the app has a use for it, and PostgreSQL cannot store it in a text column: it
    would fail the request with a 500 wherever the value reaches the database.
    """
    pairs = [*request.args.items(multi=True), *request.form.items(multi=True)]
    pairs += [(key, upload.filename or "") for key, upload in request.files.items(multi=True)]
    # A malformed multipart part can arrive without a name or value (None): nothing to refuse in it.
    if any("\x00" in (key or "") or "\x00" in (value or "") for key, value in pairs):
        from .blueprints import open311_common

        if open311_common.is_open311_request():
            return open311_common.problem(
                400, "a parameter contains a NUL character (使えない文字 (NUL) が含まれています)"
            )
        message = _("使えない文字 (NUL) が含まれているため受け付けませんでした。入力し直してください。")
        return render_template("error.html", status=400, title=_("正しくない送信です"), message=message), 400
    return None


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` that only matches numbers an id column can hold (INTEGER: up to 2**31 - 1).

    A larger number in a URL names nothing; without the bound it would reach the database,
    which refuses it (PostgreSQL: "integer out of range"; SQLite past 2**63 - 1) with a 500
    instead of a 404.
    """

    def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def _check_search(app: Flask) -> None:
    """PostgreSQL: search needs a UTF-8 LC_CTYPE (and pg_trgm); production refuses to start
    without it, elsewhere a warning is logged. One short connection at start-up."""
    from .finding import search

    if app.config.get("SEARCH_STARTUP_CHECK", True):
        with app.app_context():
            search.check_database(db.engine, production=app.config["APP_ENV"] == "production")


def _register_blueprints(app: Flask) -> None:
    from .blueprints import (
        account,
        activities,
        admin,
        admin_jobs,  # noqa: F401  (routes of the admin blueprint: imported before it is registered)
        admin_open311,  # noqa: F401  (routes of the admin blueprint, likewise)
        answer_templates,
        api,
        audit,
        auth,
        budget_calendar,
        bureau,
        corrections,
        dashboard,
        exports,
        field,
        imports,
        indicators,
        intake,
        maps,
        notifications,
        open311_common,  # noqa: F401  (the Open311 routes of the api blueprint, likewise)
        open311_read,  # noqa: F401  (likewise)
        open311_write,  # noqa: F401  (likewise)
        organisations,
        practices,
        public,
        reports,
        search,
        teamwork,
        ward,
    )

    app.url_map.converters["int"] = DatabaseIdConverter
    for module in (
        auth,
        account,  # after auth: its gate needs the session auth has checked
        field,
        ward,
        bureau,
        teamwork,
        corrections,
        admin,
        budget_calendar,
        notifications,
        reports,
        practices,
        activities,
        organisations,
        answer_templates,
        indicators,
        imports,
        audit,
        search,
        dashboard,
        exports,
        public,
        intake,
        api,
        maps,
    ):
        app.register_blueprint(module.bp)


def _register_template_helpers(app: Flask) -> None:
    from .effects import history
    from .safeguards import access
    from .states import Role

    app.jinja_env.filters.update(
        {
            name: language.in_current_language(helper)
            for name, helper in {
                "thousand_yen": formatting.thousand_yen,
                "yen": formatting.yen,
                "fiscal_year": formatting.fiscal_year_label,
                "jdate": formatting.date_label,
                "jdatetime": formatting.datetime_label,
                "file_size": formatting.file_size,
                "unit_name": formatting.unit_name,
            }.items()
        }
    )

    @app.context_processor
    def helpers():
        return {
            "Role": Role,
            "personal": lambda value: access.personal(current_user, value),
            "today": formatting.today_in_tokyo(),
            "city_name": app.config["CITY_NAME"],
            "locale": str(flask_babel.get_locale()),
            "action_label": history.action_label,
            "state_label": history.state_label,
            "role_label": history.role_label,
            "event_details": history.event_details,
        }


def _register_error_handlers(app: Flask) -> None:
    from .blueprints import open311_common

    def page(status: int, title: str, message: str):
        return render_template("error.html", status=status, title=title, message=message), status

    @app.errorhandler(400)
    def bad_request(error):
        if open311_common.is_open311_request():
            return open311_common.problem(400, "malformed request (正しくない送信です)")
        return error

    @app.errorhandler(405)
    def method_not_allowed(error):
        if open311_common.is_open311_request():
            return open311_common.problem(405, f"method not allowed: {request.method} (この操作はできません)")
        return error

    @app.errorhandler(403)
    def forbidden(error):
        _log_refusal("forbidden")
        message = getattr(error, "description", None)
        if not message or message.startswith("You don't have"):
            message = _("このページを表示する権限がありません。")
        return page(403, _("権限がありません"), message)

    @app.errorhandler(404)
    def not_found(error):
        if open311_common.is_open311_request():
            return open311_common.problem(404, "not found (見つかりません)")
        return page(404, _("見つかりません"), _("お探しのページは見つかりませんでした。"))

    @app.errorhandler(429)
    def too_many_attempts(error):
        """A throttled login (``safeguards.throttle``): when it may be tried again, in Tokyo time."""
        wait = max(1, int(getattr(error, "retry_after", None) or 1))
        again = formatting.datetime_label(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait))
        message = _(
            "ログインの失敗が続いたため、一時的に制限しています。"
            "%(again)s 以降 (約%(wait)s秒後) にお試しください。",
            again=again,
            wait=f"{wait:,}",
        )
        response = make_response(page(429, _("しばらくお待ちください"), message))
        response.headers["Retry-After"] = str(wait)
        return response

    @app.errorhandler(413)
    def too_large(error):
        if open311_common.is_open311_request():
            return open311_common.problem(413, "request too large (送信されたデータが大きすぎます)")
        return page(413, _("ファイルが大きすぎます"), _("送信されたファイルが大きすぎます。"))

    @app.errorhandler(StoredValueError)
    def unstorable_value(error):
        db.session.rollback()
        return page(422, _("保存できませんでした"), error.message)

    @app.errorhandler(500)
    def internal_error(error):
        """An unexpected failure: a plain page of its own (the layout itself may be what failed)."""
        db.session.rollback()
        if open311_common.is_open311_request():
            return open311_common.problem(500, "internal error (内部エラー)")
        return render_template("error_500.html"), 500

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        _log_refusal("csrf_failed")
        return page(
            400,
            _("もう一度お試しください"),
            _("画面の有効期限が切れたか、正しくない送信です。ページを読み込み直してください。"),
        )


def _log_refusal(kind: str) -> None:
    """A security event of a refused request, in a short transaction of its own: what the
    refused view had written is rolled back first (a refusal changes nothing), the event is
    committed. A failure to log never turns the refusal into a 500."""
    from .safeguards import security_log

    db.session.rollback()
    try:
        security_log.record(db.session, kind, user=current_user, detail={"method": request.method})
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("could not log a %s event", kind)
