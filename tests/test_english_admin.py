"""English for the admin's and the office's own pages: the admin's users, the security log, the
sign-in page and its refusals, the password policy, an import's problems and a notification
e-mail read in English by a user who chose it, without their Japanese source texts."""

from __future__ import annotations

import email
import io
from email import policy

import pytest
from sqlalchemy import select

from tracker import workflow
from tracker.ops_models import ImportBatch, Notification
from tracker.safeguards import security_log
from tracker.states import IssueState

from .factories import TODAY, Factory


def english(user, session):
    user.locale = "en"
    session.commit()
    return user


def test_the_admins_user_list_is_in_english(make, session, login_as):
    admin = english(make.admin(), session)
    make.liaison()
    page = login_as(admin).get("/admin/users").get_data(as_text=True)
    assert "+ Register a user" in page and "E-mail address" in page and "Affiliation" in page
    assert "ユーザーを登録" not in page and "メールアドレス" not in page and "所属" not in page


def test_the_security_log_names_its_kinds_in_english(make, session, login_as):
    admin = english(make.admin(), session)
    security_log.record(session, security_log.LOGIN_FAILED, login="someone")
    session.commit()
    page = login_as(admin).get("/admin/audit/security").get_data(as_text=True)
    assert "Sign-in failed" in page and "Older records" not in page  # one page only
    assert "ログイン失敗" not in page and "種類" not in page and "IPアドレス" not in page


def test_the_sign_in_page_and_its_refusal_are_in_english(client, csrf_off):
    page = client.get("/login?lang=en").get_data(as_text=True)
    assert ">Log in</button>" in page and ">ログイン</button>" not in page
    refused = client.post(
        "/login", data={"login": "nobody", "password": "wrong-password"}, follow_redirects=True
    )
    text = refused.get_data(as_text=True)
    assert "The login ID or password is not correct." in text
    assert "ログインIDまたはパスワードが正しくありません" not in text


def test_a_password_the_policy_refuses_is_explained_in_english(make, session, login_as):
    user = english(make.liaison(), session)
    answer = login_as(user).post(
        "/password", data={"current": Factory.PASSWORD, "new": "Ab3$x", "confirm": "Ab3$x"}
    )
    text = answer.get_data(as_text=True)
    assert "The password is too short. Use at least 10 characters." in text
    assert "パスワードが短すぎます" not in text


def test_an_import_lists_its_problems_in_the_uploaders_language(make, session, login_as):
    liaison = english(make.liaison(), session)
    client = login_as(liaison)
    sent = client.post(
        "/imports/",
        data={"upload": (io.BytesIO("件名,内容\n街灯が切れている,公園の入口\n".encode()), "log.csv")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 302, sent.get_data(as_text=True)
    session.expire_all()
    batch = session.scalars(select(ImportBatch).order_by(ImportBatch.id.desc())).first()
    page = client.get(f"/imports/{batch.id}").get_data(as_text=True)
    assert "Column “Category” is missing. Put the column names in the first row." in page
    assert "Errors were found, so nothing was registered." in page
    assert "がありません。1行目に列名を入れてください" not in page and "誤りが見つかった" not in page


@pytest.fixture
def mail_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_DIR", str(tmp_path / "mail"))
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    return tmp_path / "mail"


def test_a_notification_and_its_email_reach_an_english_user_in_english(make, session, mail_dir):
    english_manager, japanese_manager = make.manager(), make.manager()
    issue = make.issue(IssueState.CONSULTING, manager=english_manager)
    for manager, address in ((english_manager, "en@example.jp"), (japanese_manager, "ja@example.jp")):
        manager.email, manager.email_notifications = address, True
    english_manager.locale = "en"
    session.commit()
    event = workflow.apply(session, make.staff("環境局"), issue, "decide", {"decision": "adopt"}, today=TODAY)
    session.commit()
    session.expire_all()
    notes = {
        note.user_id: note
        for note in session.scalars(select(Notification).filter_by(history_event_id=event.id))
    }
    english_note, japanese_note = notes[english_manager.id], notes[japanese_manager.id]
    assert english_note.title.startswith("The decision on a ward issue was recorded: ")
    assert "Please answer the residents." in english_note.body
    assert japanese_note.title.startswith("区重要課題の協議結果が登録されました: ")

    mail = email.message_from_bytes(
        (mail_dir / f"notification-{english_note.id}.eml").read_bytes(), policy=policy.default
    )
    assert mail["Subject"] == f"[Kumamoto City requests and ward issues] {english_note.title}"
    text = mail.get_content()
    assert text.startswith(f"Dear {english_manager.display_name},")
    assert "For details, see this page:" in text and "Stop e-mail notifications: " in text
    assert "様" not in text and "詳しくは" not in text and "要望・区重要課題]" not in mail["Subject"]
