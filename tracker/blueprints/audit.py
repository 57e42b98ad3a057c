"""The admin's audit pages: the log of every showing of residents' personal data, and of exports."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..finding import exports
from ..models import HistoryEvent, ServiceRequest, User
from ..ops_models import PersonalDataAccess
from ..safeguards import admin_log, personal_data
from ..states import Role
from .common import roles_required
from .forms import MAX_ROW_ID, row_id

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.route("/")
@roles_required(Role.ADMIN)
def accesses():
    """個人情報の閲覧記録: newest first, by user and/or request (reference number or id)."""
    user_id = request.args.get("user", type=row_id)
    wanted = (request.args.get("request") or "").strip()
    request_id = None
    if wanted:
        match = ServiceRequest.reference == wanted
        if wanted.isdecimal() and int(wanted) <= MAX_ROW_ID:
            match = or_(match, ServiceRequest.id == int(wanted))
        request_id = db.session.scalar(select(ServiceRequest.id).where(match).limit(1)) or -1
    statement = personal_data.accesses(user_id, request_id).options(
        joinedload(PersonalDataAccess.user), joinedload(PersonalDataAccess.service_request)
    )
    page = db.paginate(statement, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    users = db.session.execute(select(User.id, User.login, User.display_name).order_by(User.login)).all()
    return render_template(
        "audit/accesses.html",
        page=page,
        users=users,
        user_id=user_id,
        wanted=wanted,
        action_labels=personal_data.ACTION_LABELS,
        role_labels={role.value: role.label for role in Role},
    )


def _events_page(template: str, action: str, actor_roles: tuple[Role, ...] = (), **context):
    """The history events of one ``action`` (no subject), newest first, optionally by actor."""
    user_id = request.args.get("user", type=row_id)
    statement = (
        select(HistoryEvent)
        .options(joinedload(HistoryEvent.actor))
        .where(HistoryEvent.action == action)
        .order_by(HistoryEvent.id.desc())
    )
    if user_id:
        statement = statement.where(HistoryEvent.actor_id == user_id)
    page = db.paginate(statement, per_page=current_app.config["PAGE_SIZE"], error_out=False)
    actors = select(User.id, User.login, User.display_name).order_by(User.login)
    if actor_roles:
        actors = actors.where(User.role.in_(actor_roles))
    return render_template(
        template,
        page=page,
        users=db.session.execute(actors).all(),
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
