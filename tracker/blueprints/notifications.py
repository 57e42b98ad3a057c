"""My notifications: the bell, the list, marking read, and turning e-mail on or off."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required
from wtforms import RadioField
from wtforms.validators import InputRequired

from ..background import notifications
from ..extensions import db
from ..ops_models import Notification
from .common import paginate
from .form_messages import Form
from .forms import options

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def _is_on(value) -> bool:
    return value in (True, "1")


class SettingsForm(Form):
    email_notifications = RadioField(
        lazy_gettext("メール通知"),
        choices=options(
            [
                ("1", lazy_gettext("通知をメールでも受け取る")),
                ("0", lazy_gettext("画面の通知だけにする (メールを停止)")),
            ]
        ),
        coerce=_is_on,
        validators=[InputRequired("選んでください。")],
    )


@bp.app_context_processor
def unread_count():
    """The bell's number (``notifications.unread_count``), for logged-in users only."""
    if not current_user.is_authenticated:
        return {}
    return {"unread_notifications": notifications.unread_count(db.session, current_user)}


def own_notification(notification_id: int) -> Notification:
    found = db.session.get(Notification, notification_id)
    if found is None:
        abort(404)
    if not notifications.belongs_to(found, current_user):
        abort(403, description=_("他の人の通知は表示・操作できません。"))
    return found


def _mark_read(notification: Notification) -> None:
    if notifications.mark_read(notification):
        db.session.commit()


@bp.route("/")
@login_required
def index():
    page = paginate(notifications.notifications_of(current_user))
    return render_template("notifications/index.html", page=page)


@bp.route("/<int:notification_id>/open")
@login_required
def open_notification(notification_id: int):
    """Follow a notification's link: it is read from now on."""
    notification = own_notification(notification_id)
    _mark_read(notification)
    return redirect(request.script_root + notification.url)


@bp.route("/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_read(notification_id: int):
    _mark_read(own_notification(notification_id))
    flash(_("通知を既読にしました。"), "success")
    return redirect(url_for("notifications.index", page=request.form.get("page", type=int)))


@bp.route("/read-all", methods=["POST"])
@login_required
def mark_all_read():
    count = notifications.mark_all_read(db.session, current_user)
    db.session.commit()
    flash(_("%(count)s件の通知を既読にしました。", count=count), "success")
    return redirect(url_for("notifications.index"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    form = SettingsForm(obj=current_user)
    if form.validate_on_submit():
        current_user.email_notifications = form.email_notifications.data
        db.session.commit()
        flash(
            _("メール通知を受け取る設定にしました。")
            if current_user.email_notifications
            else _("メール通知を停止しました。画面の通知は引き続き表示されます。"),
            "success",
        )
        return redirect(url_for("notifications.settings"))
    return render_template("notifications/settings.html", form=form)
