"""The admin's audit pages: the log of every showing of residents' personal data, of exports,
of admin changes, and the security event log."""

from __future__ import annotations

import dataclasses
import datetime as dt

from flask import Blueprint, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from .. import formatting
from ..extensions import db
from ..finding import exports
from ..parsing import DateError, check_date, parse_date
from ..safeguards import admin_log, personal_data, security_log
from ..states import Role
from ..wording import N_
from .common import paginate, roles_required
from .forms import MAX_ROW_ID, row_id

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


def _translated(labels: dict[str, str]) -> dict[str, str]:
    """A service's marked labels, in the user's language."""
    return {key: _(label) for key, label in labels.items()}


@bp.route("/")
@roles_required(Role.ADMIN)
def accesses():
    """個人情報の閲覧記録: newest first, by user and/or request (reference number or id)."""
    user_id = request.args.get("user", type=row_id)
    wanted = (request.args.get("request") or "").strip()
    wanted_id = int(wanted) if wanted.isdecimal() and int(wanted) <= MAX_ROW_ID else None
    request_id = personal_data.request_id_named(db.session, wanted, wanted_id)
    statement = personal_data.accesses(user_id, request_id)
    page = paginate(statement)
    return render_template(
        "audit/accesses.html",
        page=page,
        users=admin_log.actor_choices(db.session),
        user_id=user_id,
        wanted=wanted,
        action_labels=_translated(personal_data.ACTION_LABELS),
        role_labels={role.value: role.label for role in Role},
    )


def _events_page(template: str, action: str, actor_roles: tuple[Role, ...] = (), **context):
    """The history events of one ``action`` (no subject), newest first, optionally by actor."""
    user_id = request.args.get("user", type=row_id)
    statement = admin_log.action_events(action, user_id)
    page = paginate(statement)
    return render_template(
        template,
        page=page,
        users=admin_log.actor_choices(db.session, actor_roles),
        user_id=user_id,
        role_labels={role.value: role.label for role in Role},
        **context,
    )


@bp.route("/exports")
@roles_required(Role.ADMIN)
def exported():
    """ファイル出力の記録: every export of a list or report, newest first, optionally by user."""
    return _events_page("audit/exports.html", exports.EXPORT_ACTION)


@bp.route("/changes")
@roles_required(Role.ADMIN)
def admin_changes():
    """管理操作の記録: accounts, roles, master data and ward funds changed by the admin."""
    return _events_page(
        "audit/changes.html",
        admin_log.ACTION,
        (Role.ADMIN,),
        table_labels=_translated(admin_log.TABLE_LABELS),
        field_labels=_translated(admin_log.FIELD_LABELS),
    )


SECURITY_FILTER_ARGS = ("kind", "who", "ip", "since", "until")
DAY_LABELS = {"since": N_("開始日"), "until": N_("終了日")}


def _security_columns() -> tuple[exports.Column, ...]:
    """The CSV's columns, headed in the user's language."""
    kinds = _translated(security_log.KIND_LABELS)
    return (
        exports.Column(_("日時"), lambda event: formatting.datetime_label(event.created_at)),
        exports.Column(_("種類"), lambda event: kinds.get(event.kind, event.kind)),
        exports.Column(_("ログインID"), lambda event: event.login),
        exports.Column(_("職員"), lambda event: event.user.display_name if event.user else ""),
        exports.Column(_("IPアドレス"), lambda event: event.ip),
        exports.Column(_("パス"), lambda event: event.path),
        exports.Column(_("詳細"), security_log.describe),
    )


def _day(name: str, errors: dict[str, str]) -> dt.date | None:
    try:
        day = parse_date((request.args.get(name) or "")[:40])
        return check_date(day, _(DAY_LABELS[name]), latest=formatting.today_in_tokyo()) if day else None
    except DateError as error:
        errors[name] = error.message
        return None


@bp.route("/security")
@roles_required(Role.ADMIN)
def security_events():
    """セキュリティ記録: by kind, login ID, address and days (Tokyo); keyset paged; CSV."""
    errors: dict[str, str] = {}
    kind = request.args.get("kind") or ""
    wanted = security_log.EventFilter(
        kind=kind if kind in security_log.KIND_LABELS else "",
        who=(request.args.get("who") or "")[:64],
        ip=(request.args.get("ip") or "")[:45],
        since=_day("since", errors),
        until=_day("until", errors),
        before_id=request.args.get("before", type=row_id),
    )
    if request.args.get("format") == "csv" and not errors:
        rows = security_log.matching(db.session, dataclasses.replace(wanted, before_id=None))  # every page
        exports.record_export(
            db.session, current_user, "セキュリティ記録", "csv", len(rows), wanted.as_filters()
        )
        db.session.commit()
        return exports.response("csv", "security-events", _security_columns(), rows, _("セキュリティ記録"))
    events, next_before = security_log.page(db.session, wanted, current_app.config["PAGE_SIZE"])
    return render_template(
        "audit/security.html",
        events=events,
        next_before=next_before,
        wanted=wanted,
        args={key: value for key, value in request.args.items() if key in SECURITY_FILTER_ARGS},
        errors=errors,
        kind_labels=_translated(security_log.KIND_LABELS),
        describe=security_log.describe,
    ), (422 if errors else 200)
