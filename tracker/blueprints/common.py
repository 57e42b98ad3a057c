"""What the views share: role checks, scoped look-ups, and running one workflow action."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, current_app, flash, redirect, render_template, request, send_file
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, StringField, TextAreaField

from .. import workflow
from ..effects import stored_files
from ..effects.support import CONFLICT_MESSAGE
from ..extensions import db
from ..formatting import today_in_tokyo
from ..models import ServiceRequest, WardIssue
from ..safeguards import access
from ..states import Role
from ..workflow import WorkflowConflict, WorkflowError
from .detail import Refused, page_of

MAX_PAGE = 10_000  # an offset list deeper than this is not browsed; a larger number is a probe


def page_number() -> int:
    """The ``page`` of an offset-paged list, 1 to ``MAX_PAGE``; anything else reads as 1.

    Flask-SQLAlchemy reads ``page`` itself unbounded: a huge one became an OFFSET the database
    driver could not hold (a 500)."""
    raw = request.args.get("page", "")
    number = int(raw) if raw.isdecimal() and len(raw) <= 6 else 1
    return min(max(number, 1), MAX_PAGE)


def int_arg(name: str, low: int = 0, high: int = 2**31 - 1) -> int | None:
    """A whole-number query parameter within [low, high] (an id, a year), else None."""
    raw = request.args.get(name, "").strip()
    if not raw.isdecimal() or len(raw) > len(str(high)):
        return None
    number = int(raw)
    return number if low <= number <= high else None


def paginate(statement, per_page: int | None = None):
    """One page of ``statement`` for a list view, its page number bounded."""
    size = per_page or current_app.config["PAGE_SIZE"]
    return db.paginate(statement, page=page_number(), per_page=size, error_out=False)


def roles_required(*roles: Role) -> Callable:
    """Logged in, and in one of ``roles``; otherwise 403 with a Japanese message."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403, description=_("この画面はあなたの役割では使えません。"))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def visible_request(request_id: int) -> ServiceRequest:
    found = db.session.get(ServiceRequest, request_id)
    if found is None:
        abort(404)
    if not access.can_view_request(current_user, found):
        abort(403, description=_("この要望を見る権限がありません。"))
    return found


def visible_issue(issue_id: int) -> WardIssue:
    found = db.session.get(WardIssue, issue_id)
    if found is None:
        abort(404)
    if not access.can_view_issue(current_user, found):
        abort(403, description=_("この区重要課題を見る権限がありません。"))
    return found


def send_stored(directory: str, found, *, download: bool = False):
    """A stored file (a photo, an attachment) with the type found in its content, never cached,
    never sniffed, and sandboxed: the caller has checked that the user may see its subject."""
    response = send_file(
        stored_files.stored_path(directory, found.stored_name),
        mimetype=found.content_type,
        as_attachment=download,
        download_name=found.original_name,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, no-store"
    return response


def form_errors(form) -> str:
    separator = _("、")
    return " ".join(
        _(
            "%(label)s: %(errors)s",
            label=getattr(form, name).label.text,
            errors=separator.join(map(str, errs)),
        )
        for name, errs in form.errors.items()
    )


def submitted_version(form) -> int | None:
    """The version of the record the user saw, from the form's hidden field; None if not sent."""
    raw = (form.version.data or "").strip()
    if not raw:
        return None
    # No record has version 0: a garbled one conflicts. isdecimal, not isdigit: int() refuses
    # digits such as "²"; and a number too long for int() (4300 digits) is garbled too.
    return int(raw) if raw.isdecimal() and len(raw) <= 18 else 0


def is_stale(subject, action: str, form) -> bool:
    """The form was shown with a version of ``subject`` that another user's change replaced."""
    try:
        workflow.check_version(subject, workflow.actions_for(subject)[action], submitted_version(form))
    except WorkflowConflict:
        return True
    return False


def conflict_page(form, back: str):
    """409: someone else changed the record first. Nothing was saved; a link reloads ``back``.

    What the user typed is shown back, so that it can be copied into the reloaded page.
    """
    typed = [
        f for f in form if isinstance(f, (StringField, TextAreaField)) and not isinstance(f, HiddenField)
    ]
    entered = [(f.label.text, f._value()) for f in typed if f._value().strip()]  # as typed, not as read
    return render_template("conflict.html", message=CONFLICT_MESSAGE, back=back, entered=entered), 409


def _show_again(subject, refused: Refused, again: Callable[[Refused], str] | None):
    """422: the refused form shown again, by ``again`` or on the subject's own page."""
    return (again(refused) if again else page_of(subject, refused)), 422


def run_action(
    subject,
    action: str,
    form,
    payload: dict,
    success: str,
    back: str,
    again: Callable[[Refused], str] | None = None,
):
    """Validate the form, apply one workflow action, commit, flash, redirect to ``back``.

    A denied action (role, scope, state) answers 403 and changes nothing. An invalid form or a
    failed guard changes nothing and answers 422 with ``again`` (the subject's page by default):
    the form as typed, its errors beside the fields, the Japanese reason in it and flashed. A
    form shown with an older version of the record, or a commit that lost a race with another
    writer, answers 409 with ``conflict_page`` and changes nothing (checked first: the other
    change may be what now makes the action illegal).
    """
    rule = workflow.actions_for(subject).get(action)
    if rule is None:
        abort(404)
    if is_stale(subject, action, form):
        return conflict_page(form, back)
    denied = workflow.permission_error(current_user, subject, rule)
    if denied:
        abort(403, description=denied)
    if not form.validate_on_submit():
        reason = form_errors(form) or _("入力内容を確認してください。")
        flash(reason, "error")
        return _show_again(subject, Refused(action, form, reason), again)
    try:
        workflow.apply(
            db.session,
            current_user,
            subject,
            action,
            payload,
            today=today_in_tokyo(),
            expected_version=submitted_version(form),
        )
        db.session.commit()
    except (WorkflowConflict, StaleDataError):  # another writer was first on the same row
        db.session.rollback()
        return conflict_page(form, back)
    except WorkflowError as error:
        db.session.rollback()
        flash(error.message, "error")
        return _show_again(subject, Refused(action, form, error.message), again)
    flash(success, "success")
    return redirect(back)
