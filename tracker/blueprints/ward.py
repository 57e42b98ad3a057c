"""Ward office (区役所 管理職): triage, refer, escalate, and the ward issues' life until sent."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import workflow
from ..effects import bulk as bulk_effects
from ..effects import funds
from ..extensions import db
from ..finding import list_pages, listing, queries
from ..formatting import today_in_tokyo
from ..models import ServiceRequest, WardIssue
from ..states import Role
from ..workflow import WorkflowError
from .common import (
    conflict_page,
    form_errors,
    is_stale,
    roles_required,
    run_action,
    visible_issue,
    visible_request,
)
from .detail import build_form, bureau_choices, issue_page, stamp_version
from .forms import IssueForm, options
from .triage_forms import bulk_back, bulk_fields, bulk_form, selected_versions

bp = Blueprint("ward", __name__)

MANAGER = (Role.WARD_MANAGER,)


@bp.route("/ward/")
@roles_required(*MANAGER)
def triage():
    statement = queries.triage_requests(current_user)
    if list_pages.wanted_format():
        return list_pages.export_fixed(statement, ServiceRequest, _("要望の振り分け"), _("要望の振り分け"))
    rows = db.session.execute(statement).scalars().all()
    incoming = db.session.execute(queries.incoming_handovers(current_user)).scalars().all()
    form = bulk_form(db.session, current_user)
    return render_template("ward/triage.html", rows=rows, incoming=incoming, bulk=form)


@bp.route("/requests/bulk", methods=["POST"])
@roles_required(*MANAGER)
def bulk():
    """One action on every selected request, all or nothing (``effects.bulk``)."""
    form = bulk_form(db.session, current_user)
    ids = bulk_effects.clean_ids(request.form.getlist("ids"))
    back = bulk_back(request.form)
    if form.validate_on_submit():
        try:
            result = bulk_effects.apply_bulk(
                db.session,
                current_user,
                form.action.data,
                ids,
                bulk_fields(form),
                today=today_in_tokyo(),
                versions=selected_versions(request.form, ids),
            )
            db.session.commit()
        except WorkflowError as error:
            db.session.rollback()
            failed = getattr(error, "request_id", None)
            return _bulk_again(form, ids, back, error.message, failed)
        flash(result.summary, "success")
        return redirect(back)
    return _bulk_again(form, ids, back, form_errors(form) or _("入力内容を確認してください。"), None)


def _bulk_again(form, ids: list[int], back: str, reason: str, failed: int | None):
    """The selection and the bulk form as typed, with why nothing was changed (422)."""
    rows = db.session.execute(queries.selected_requests(current_user, ids)).scalars().all()
    shown = {r.id for r in rows}
    page = render_template(
        "ward/bulk.html",
        rows=rows,
        hidden_ids=[i for i in ids if i not in shown],
        selected=set(ids),
        bulk=form,
        back=back,
        reason=reason,
        failed=failed,
    )
    return page, 422


def _request_action(request_id: int, action: str, success: str):
    found = visible_request(request_id)
    form = build_form(found, action)
    payload = dict(form.data)
    if action == "escalate":
        payload = {
            "ward_issue": db.session.get(WardIssue, form.ward_issue_id.data)
            if form.ward_issue_id.data
            else None,
            "title": form.title.data,
            "proposal": form.proposal.data,
            "lead_bureau": form.lead_bureau_id.data or None,
            "comment": form.comment.data,
        }
    if action == "hand_over":
        payload = {"handover_ward": form.handover_ward_id.data, "comment": form.comment.data}
    if action == "accept_handover":
        payload = {"center": form.center_id.data, "comment": form.comment.data}
    return run_action(
        found, action, form, payload, success, url_for("field.request_detail", request_id=found.id)
    )


@bp.route("/requests/<int:request_id>/refer", methods=["POST"])
@roles_required(*MANAGER)
def refer(request_id: int):
    return _request_action(request_id, "refer", _("担当課へ回付しました。"))


@bp.route("/requests/<int:request_id>/hand-over", methods=["POST"])
@roles_required(*MANAGER)
def hand_over(request_id: int):
    return _request_action(request_id, "hand_over", _("他区への引継ぎを依頼しました。"))


@bp.route("/requests/<int:request_id>/hand-over/accept", methods=["POST"])
@roles_required(*MANAGER)
def accept_handover(request_id: int):
    return _request_action(request_id, "accept_handover", _("要望を引き継ぎました。"))


@bp.route("/requests/<int:request_id>/hand-over/decline", methods=["POST"])
@roles_required(*MANAGER)
def decline_handover(request_id: int):
    return _request_action(request_id, "decline_handover", _("引継ぎを断りました。"))


@bp.route("/requests/<int:request_id>/hand-over/cancel", methods=["POST"])
@roles_required(*MANAGER)
def cancel_handover(request_id: int):
    return _request_action(request_id, "cancel_handover", _("引継ぎを取り消しました。"))


@bp.route("/requests/<int:request_id>/escalate", methods=["POST"])
@roles_required(*MANAGER)
def escalate(request_id: int):
    return _request_action(request_id, "escalate", _("区重要課題にまとめました。"))


@bp.route("/requests/<int:request_id>/fund", methods=["POST"])
@roles_required(*MANAGER)
def fund_from_ward(request_id: int):
    return _request_action(request_id, "fund_from_ward", _("まちづくり推進経費の充当を記録しました。"))


@bp.route("/requests/<int:request_id>/priority", methods=["POST"])
@roles_required(Role.LIAISON, Role.WARD_MANAGER)
def set_priority(request_id: int):
    return _request_action(request_id, "set_priority", _("緊急度を変更しました。"))


@bp.route("/requests/<int:request_id>/assign", methods=["POST"])
@roles_required(*MANAGER)
def assign(request_id: int):
    return _request_action(request_id, "assign", _("担当者を設定しました。"))


@bp.route("/funds")
@roles_required(*MANAGER)
def ward_funds():
    return render_template("ward/funds.html", years=funds.fund_years(db.session, current_user.ward_id))


@bp.route("/requests/<int:request_id>/reopen", methods=["POST"])
@roles_required(*MANAGER)
def reopen(request_id: int):
    return _request_action(request_id, "reopen", _("要望を再開しました。"))


@bp.route("/issues/")
@roles_required(Role.LIAISON, Role.WARD_MANAGER, Role.ADMIN)
def issues():
    """区重要課題: filtered, sorted, keyset-paged; ``?format=`` exports."""
    return list_pages.show(
        listing.ISSUES,
        queries.issues_for(current_user),
        template="ward/issues.html",
        endpoint="ward.issues",
        what=_("区重要課題一覧"),
        filename=_("区重要課題一覧"),
    )


def _issue_form(issue: WardIssue | None = None) -> IssueForm:
    form = IssueForm(obj=issue) if issue and request.method == "GET" else IssueForm()
    form.lead_bureau_id.choices = options([(0, _("未定")), *bureau_choices()])
    form.related_bureau_ids.choices = options(bureau_choices())
    if issue and request.method == "GET":
        form.lead_bureau_id.data = issue.lead_bureau_id or 0
        form.related_bureau_ids.data = [b.id for b in issue.related_bureaus]
        stamp_version(form, issue)
    return form


def _issue_fields(form: IssueForm) -> dict:
    return {
        "title": form.title.data,
        "situation": form.situation.data,
        "proposal": form.proposal.data,
        "lead_bureau": form.lead_bureau_id.data or None,
        "related_bureaus": form.related_bureau_ids.data or [],
    }


@bp.route("/issues/new", methods=["GET", "POST"])
@roles_required(*MANAGER)
def new_issue():
    form = _issue_form()
    if form.validate_on_submit():
        fields = _issue_fields(form)
        try:
            issue = workflow.create_issue(db.session, current_user, fields, today=today_in_tokyo())
            if fields["related_bureaus"]:
                workflow.apply(
                    db.session, current_user, issue, "edit", {"related_bureaus": fields["related_bureaus"]}
                )
            db.session.commit()
        except WorkflowError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            flash(_("区重要課題 %(reference)s を起案しました。", reference=issue.reference), "success")
            return redirect(url_for("ward.issue_detail", issue_id=issue.id))
    return render_template("ward/issue_form.html", form=form, issue=None)


@bp.route("/issues/<int:issue_id>")
@login_required
def issue_detail(issue_id: int):
    issue = visible_issue(issue_id)
    return issue_page(issue)


@bp.route("/issues/<int:issue_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGER)
def edit_issue(issue_id: int):
    issue = visible_issue(issue_id)
    back = url_for("ward.issue_detail", issue_id=issue.id)
    form = _issue_form(issue)
    if request.method == "POST" and is_stale(issue, "edit", form):
        return conflict_page(form, back)
    denied = workflow.permission_error(current_user, issue, workflow.ISSUE_ACTIONS["edit"])
    if denied:
        flash(denied, "error")
        return redirect(back)
    if form.validate_on_submit():
        return run_action(
            issue,
            "edit",
            form,
            _issue_fields(form),
            _("区重要課題を更新しました。"),
            back,
            again=lambda refused: render_template("ward/issue_form.html", form=form, issue=issue),
        )
    return render_template("ward/issue_form.html", form=form, issue=issue)


def _issue_action(issue_id: int, action: str, success: str):
    issue = visible_issue(issue_id)
    form = build_form(issue, action)
    payload = dict(form.data)
    if action == "send":
        payload = {
            "lead_bureau": form.lead_bureau_id.data,
            "related_bureaus": form.related_bureau_ids.data or [],
            "comment": form.comment.data,
        }
    return run_action(issue, action, form, payload, success, url_for("ward.issue_detail", issue_id=issue.id))


@bp.route("/issues/<int:issue_id>/approve", methods=["POST"])
@roles_required(*MANAGER)
def approve(issue_id: int):
    return _issue_action(issue_id, "approve", _("区重要課題に決定しました。"))


@bp.route("/issues/<int:issue_id>/submit", methods=["POST"])
@roles_required(*MANAGER)
def submit(issue_id: int):
    return _issue_action(issue_id, "submit", _("決裁に回しました。別の管理職が決定します。"))


@bp.route("/issues/<int:issue_id>/return", methods=["POST"])
@roles_required(*MANAGER)
def return_draft(issue_id: int):
    return _issue_action(issue_id, "return_draft", _("起案者に差し戻しました。"))


@bp.route("/issues/<int:issue_id>/ward-owner", methods=["POST"])
@roles_required(*MANAGER)
def assign_ward_owner(issue_id: int):
    return _issue_action(issue_id, "assign_ward_owner", _("区の担当者を設定しました。"))


@bp.route("/issues/<int:issue_id>/send", methods=["POST"])
@roles_required(*MANAGER)
def send(issue_id: int):
    return _issue_action(issue_id, "send", _("局へ送付しました。"))


@bp.route("/issues/<int:issue_id>/answer-inquiry", methods=["POST"])
@roles_required(*MANAGER)
def answer_inquiry(issue_id: int):
    return _issue_action(issue_id, "answer_inquiry", _("照会に回答しました。"))


@bp.route("/issues/<int:issue_id>/withdraw", methods=["POST"])
@roles_required(*MANAGER)
def withdraw_issue(issue_id: int):
    return _issue_action(issue_id, "withdraw", _("区重要課題を取り下げました。"))


@bp.route("/issues/<int:issue_id>/public", methods=["POST"])
@roles_required(*MANAGER)
def set_public(issue_id: int):
    return _issue_action(issue_id, "set_public", _("公開設定を変更しました。"))


@bp.route("/issues/<int:issue_id>/public-text", methods=["POST"])
@roles_required(*MANAGER)
def write_public_text(issue_id: int):
    return _issue_action(
        issue_id, "write_public_text", _("公開内容を保存しました。確認されるまで公開されません。")
    )


@bp.route("/issues/<int:issue_id>/public-text/approve", methods=["POST"])
@roles_required(*MANAGER)
def approve_public_text(issue_id: int):
    return _issue_action(issue_id, "approve_public_text", _("公開内容を確認しました。"))


@bp.route("/issues/<int:issue_id>/good-practice", methods=["POST"])
@roles_required(*MANAGER)
def mark_good_practice(issue_id: int):
    return _issue_action(issue_id, "mark_good_practice", _("事例集に登録しました。"))


@bp.route("/issues/<int:issue_id>/good-practice/edit", methods=["POST"])
@roles_required(*MANAGER)
def edit_good_practice(issue_id: int):
    return _issue_action(issue_id, "edit_good_practice", _("事例集の要約を更新しました。"))


@bp.route("/issues/<int:issue_id>/good-practice/remove", methods=["POST"])
@roles_required(*MANAGER)
def unmark_good_practice(issue_id: int):
    return _issue_action(issue_id, "unmark_good_practice", _("事例集から外しました。"))
