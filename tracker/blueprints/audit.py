"""The admin's audit pages: the log of every showing of residents' personal data, and of exports."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from ..extensions import db
from ..finding import exports
from ..safeguards import admin_log, personal_data
from ..states import Role
from .common import paginate, roles_required
from .forms import MAX_ROW_ID, row_id

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


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
        action_labels=personal_data.ACTION_LABELS,
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
        table_labels=admin_log.TABLE_LABELS,
        field_labels=admin_log.FIELD_LABELS,
    )
