"""Corrections (訂正) and 取消 of what was entered: one route per action, each the same thin view.

The forms are in ``correction_forms``; the rules (who, in which state, what may change, the
reason, the history event with old and new values) in ``tracker.effects.corrections``.
"""

from __future__ import annotations

from flask import Blueprint, url_for
from flask_babel import gettext as _

from ..states import Role
from .common import roles_required, run_action, visible_issue, visible_request
from .correction_forms import payload_of
from .detail import build_form

bp = Blueprint("corrections", __name__)

FIELD_STAFF = (Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
MANAGER = (Role.WARD_MANAGER, Role.ADMIN)
BUREAU = (Role.BUREAU_STAFF, Role.ADMIN)


def _on_request(request_id: int, action: str, success: str):
    found = visible_request(request_id)
    form = build_form(found, action)
    back = url_for("field.request_detail", request_id=found.id)
    return run_action(found, action, form, payload_of(form), success, back)


def _on_issue(issue_id: int, action: str, success: str):
    issue = visible_issue(issue_id)
    form = build_form(issue, action)
    back = url_for("ward.issue_detail", issue_id=issue.id)
    return run_action(issue, action, form, payload_of(form), success, back)


@bp.route("/requests/<int:request_id>/correct", methods=["POST"])
@roles_required(*FIELD_STAFF)
def correct_request(request_id: int):
    return _on_request(request_id, "correct_request", _("要望の内容を訂正しました。"))


@bp.route("/requests/<int:request_id>/answer/correct", methods=["POST"])
@roles_required(*FIELD_STAFF)
def correct_answer(request_id: int):
    return _on_request(request_id, "correct_answer", _("回答を訂正しました。"))


@bp.route("/requests/<int:request_id>/fund/correct", methods=["POST"])
@roles_required(*MANAGER)
def correct_fund_draw(request_id: int):
    return _on_request(request_id, "correct_fund_draw", _("充当を訂正しました。"))


@bp.route("/requests/<int:request_id>/fund/cancel", methods=["POST"])
@roles_required(*MANAGER)
def cancel_fund_draw(request_id: int):
    return _on_request(request_id, "cancel_fund_draw", _("充当を取り消しました。"))


@bp.route("/issues/<int:issue_id>/correct", methods=["POST"])
@roles_required(*MANAGER)
def correct_texts(issue_id: int):
    return _on_issue(issue_id, "correct_texts", _("区重要課題の内容を訂正しました。"))


@bp.route("/issues/<int:issue_id>/decision/correct", methods=["POST"])
@roles_required(*BUREAU)
def correct_decision(issue_id: int):
    return _on_issue(issue_id, "correct_decision", _("協議結果を訂正しました。"))


@bp.route("/issues/<int:issue_id>/budget-lines/correct", methods=["POST"])
@roles_required(*BUREAU)
def correct_budget_line(issue_id: int):
    return _on_issue(issue_id, "correct_budget_line", _("予算を訂正しました。"))


@bp.route("/issues/<int:issue_id>/budget-lines/cancel", methods=["POST"])
@roles_required(*BUREAU)
def cancel_budget_line(issue_id: int):
    return _on_issue(issue_id, "cancel_budget_line", _("予算を取り消しました。"))
