"""Bureau (局 担当者): the inbox of issues in consultation, decisions, budget, progress, outcome."""

from __future__ import annotations

from flask import Blueprint, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..finding import list_pages, listing, queries
from ..states import Role
from ..wording import N_
from .common import roles_required, run_action, visible_issue
from .detail import build_form

bp = Blueprint("bureau", __name__)

TAB_LABELS = {
    "consulting": N_("協議中"),
    "decided": N_("協議済 (予算化待ち)"),
    "budgeted": N_("予算化"),
    "implementing": N_("実施中"),
    "closed": N_("完了・対応しない"),
    "all": N_("すべて"),
}


@bp.route("/bureau/")
@roles_required(Role.BUREAU_STAFF)
def inbox():
    tab = request.args.get("tab", "consulting")
    if tab not in TAB_LABELS:
        tab = "consulting"
    return list_pages.show(
        listing.INBOX,
        queries.bureau_issues(current_user, tab),
        template="bureau/inbox.html",
        endpoint="bureau.inbox",
        what=f"担当の区重要課題 ({TAB_LABELS[tab]})",  # the export log's record, in Japanese
        filename=_("担当の区重要課題_%(tab)s", tab=_(TAB_LABELS[tab])),
        extra={"tab": tab},
        tab=tab,
        tabs={key: _(label) for key, label in TAB_LABELS.items()},
    )


def _issue_action(issue_id: int, action: str, success: str):
    issue = visible_issue(issue_id)
    form = build_form(issue, action)
    payload = dict(form.data)
    if action == "complete":
        payload["executed"] = {
            line.id: form[f"executed_{line.id}"].data for line in issue.current_budget_lines
        }
    return run_action(issue, action, form, payload, success, url_for("ward.issue_detail", issue_id=issue.id))


@bp.route("/issues/<int:issue_id>/decide", methods=["POST"])
@roles_required(Role.BUREAU_STAFF)
def decide(issue_id: int):
    return _issue_action(issue_id, "decide", _("協議結果を登録しました。"))


@bp.route("/issues/<int:issue_id>/inquire", methods=["POST"])
@roles_required(Role.BUREAU_STAFF)
def inquire(issue_id: int):
    return _issue_action(issue_id, "inquire", _("区へ照会しました。"))


@bp.route("/issues/<int:issue_id>/opinions", methods=["POST"])
@roles_required(Role.BUREAU_STAFF)
def opine(issue_id: int):
    return _issue_action(issue_id, "opine", _("意見を登録しました。"))


@bp.route("/issues/<int:issue_id>/budget", methods=["POST"])
@roles_required(Role.BUREAU_STAFF)
def budget(issue_id: int):
    return _issue_action(issue_id, "budget", _("予算化を登録しました。"))


@bp.route("/issues/<int:issue_id>/budget-lines", methods=["POST"])
@roles_required(Role.BUREAU_STAFF)
def add_budget_line(issue_id: int):
    return _issue_action(issue_id, "add_budget_line", _("予算を追加しました。"))


@bp.route("/issues/<int:issue_id>/start", methods=["POST"])
@roles_required(Role.BUREAU_STAFF)
def start(issue_id: int):
    return _issue_action(issue_id, "start", _("事業に着手しました。"))


@bp.route("/issues/<int:issue_id>/notes", methods=["POST"])
@roles_required(Role.BUREAU_STAFF, Role.WARD_MANAGER)
def note(issue_id: int):
    return _issue_action(issue_id, "note", _("進捗を記録しました。"))


@bp.route("/issues/<int:issue_id>/complete", methods=["POST"])
@roles_required(Role.BUREAU_STAFF)
def complete(issue_id: int):
    return _issue_action(issue_id, "complete", _("完了を登録しました。"))


@bp.route("/issues/<int:issue_id>/bureau-owner", methods=["POST"])
@roles_required(Role.BUREAU_STAFF)
def assign_bureau_owner(issue_id: int):
    return _issue_action(issue_id, "assign_bureau_owner", _("局の担当者を設定しました。"))
