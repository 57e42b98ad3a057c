"""The e-mail of a notification: built in its recipient's language (``User.locale``), then sent
over SMTP, or without ``MAIL_SERVER`` written as an ``.eml`` file to ``MAIL_DIR``.

``tracker.background.notifications`` sends it from its ``send_email`` job, and the daily
reminders (``reminders``) send their digests the same way. No Flask request here: a job has none.
"""

from __future__ import annotations

import smtplib
import ssl
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

from flask import current_app

from ..ops_models import Notification
from ..wording import N_, say, translate
from .jobs import in_language

DEFAULT_CITY_NAME = N_("熊本市")  # config's default ``CITY_NAME``: the e-mails name the city in English too


def url_path(endpoint: str, **values) -> str:
    """A path inside the app, without a request (a job has none)."""
    return current_app.url_map.bind("localhost").build(endpoint, values)


def build_email(notification: Notification) -> EmailMessage:
    """The notification as an RFC 5322 message in its recipient's language; the same
    notification gives the same message."""
    with in_language(notification.user.locale):
        return _email(notification)


def _email(notification: Notification) -> EmailMessage:
    config = current_app.config
    base = config["BASE_URL"].rstrip("/")
    user = notification.user
    sender_domain = parseaddr(config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"
    message = EmailMessage()
    city = translate(config["CITY_NAME"])
    message["Subject"] = say("[%(city)s 要望・区重要課題] %(title)s", city=city, title=notification.title)
    message["From"] = config["MAIL_FROM"]
    message["To"] = formataddr((user.display_name, user.email))
    message["Date"] = format_datetime(notification.created_at)
    message["Message-ID"] = f"<notification-{notification.id}@{sender_domain}>"
    message.set_content(
        say("%(name)s 様", name=user.display_name)
        + f"\n\n{notification.title}\n\n{notification.body}\n\n"
        + say("詳しくは次のページをご覧ください。")
        + f"\n{base}{notification.url}\n\n-- \n"
        + say("このメールは%(city)s 要望・区重要課題管理システムから自動で送信しています。", city=city)
        + "\n"
        + say("メール通知の停止: %(url)s", url=f"{base}{url_path('notifications.settings')}")
        + "\n"
    )
    return message


def deliver(message: EmailMessage, notification_id: int) -> None:
    """Send over SMTP, or without ``MAIL_SERVER`` write the file ``MAIL_DIR/notification-<id>.eml``."""
    config = current_app.config
    if not config["MAIL_SERVER"]:
        folder = Path(config["MAIL_DIR"])
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"notification-{notification_id}.eml"
        partial = target.with_suffix(".eml.part")
        partial.write_bytes(message.as_bytes(policy=policy.SMTP))
        partial.replace(target)  # a re-run overwrites; a reader never sees half a file
        return
    with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=30) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
        smtp.send_message(message)
