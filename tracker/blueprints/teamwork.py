"""Comments and attachments on a request or a ward issue, for anyone who may see it.

The forms are on the detail pages (``detail._page_parts``); each view runs the ``comment`` or
``attach`` action of the workflow (``tracker.effects.teamwork``). A file is served only to whoever
may see its request or issue, with the type its content was checked to be.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..effects import attachments, teamwork
from ..extensions import db
from ..states import Role
from ..teamwork_models import Attachment
from .common import roles_required, run_action, send_stored, visible_issue, visible_request
from .detail import build_form

bp = Blueprint("teamwork", __name__)

TEAM = (Role.LIAISON, Role.WARD_MANAGER, Role.BUREAU_STAFF, Role.ADMIN)


def _request_back(found) -> str:
    return url_for("field.request_detail", request_id=found.id)


def _issue_back(issue) -> str:
    return url_for("ward.issue_detail", issue_id=issue.id)


def _comment(subject, back: str):
    form = build_form(subject, "comment")
    return run_action(
        subject, "comment", form, {"body": form.body.data}, _("コメントを書き込みました。"), back
    )


def _attach(subject, back: str):
    form = build_form(subject, "attach")
    upload = form.file.data
    config = current_app.config
    payload = {
        "upload": teamwork.Upload(upload.stream, upload.filename or "") if upload else None,
        "store": teamwork.AttachmentStore(
            config["ATTACHMENT_DIR"], config["ATTACHMENT_MAX_BYTES"], config["ATTACHMENT_MAX_COUNT"]
        ),
    }
    return run_action(subject, "attach", form, payload, _("ファイルを添付しました。"), back)


@bp.route("/requests/<int:request_id>/comments", methods=["POST"])
@roles_required(*TEAM)
def comment_request(request_id: int):
    found = visible_request(request_id)
    return _comment(found, _request_back(found))


@bp.route("/issues/<int:issue_id>/comments", methods=["POST"])
@roles_required(*TEAM)
def comment_issue(issue_id: int):
    issue = visible_issue(issue_id)
    return _comment(issue, _issue_back(issue))


@bp.route("/requests/<int:request_id>/attachments", methods=["POST"])
@roles_required(*TEAM)
def attach_request(request_id: int):
    found = visible_request(request_id)
    return _attach(found, _request_back(found))


@bp.route("/issues/<int:issue_id>/attachments", methods=["POST"])
@roles_required(*TEAM)
def attach_issue(issue_id: int):
    issue = visible_issue(issue_id)
    return _attach(issue, _issue_back(issue))


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int):
    found = db.session.get(Attachment, attachment_id)
    if found is None:
        abort(404)
    if found.service_request_id is not None:
        visible_request(found.service_request_id)
    else:
        visible_issue(found.ward_issue_id)
    kind = attachments.kind_of(found.content_type)
    return send_stored(current_app.config["ATTACHMENT_DIR"], found, download=kind is None or not kind.inline)
