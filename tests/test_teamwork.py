"""Comments and attachments on requests and issues, through the pages: who may write and read
them, what the persons in charge are told, which files are taken (by their content) and who may
open them. The workflow rows of ``comment`` and ``attach`` are in tests/test_workflow_*.py.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tracker import workflow
from tracker.effects import attachments, teamwork
from tracker.effects.support import Context, WorkflowError
from tracker.formatting import datetime_label
from tracker.models import HistoryEvent, ServiceRequest
from tracker.ops_models import Notification
from tracker.states import IssueState
from tracker.teamwork_models import Attachment, Comment

from .factories import TODAY, png_bytes
from .teamwork_cases import COMMENT, PDF_BYTES, attach_payload

S = IssueState


def docx_bytes(extra_entries: int = 0, big_entry: int = 0) -> bytes:
    """A minimal Word file made here: ``[Content_Types].xml`` and a ``word/`` part."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", "<w:document/>")
        for number in range(extra_entries):
            archive.writestr(f"word/media/part{number}.xml", "")
        if big_entry:
            archive.writestr("word/media/big.bin", b"\0" * big_entry)
    return buffer.getvalue()


def post_comment(client, path: str, body: str = COMMENT["body"]):
    return client.post(f"{path}/comments", data={"comment-body": body})


def post_file(client, path: str, data: bytes, name: str):
    return client.post(
        f"{path}/attachments",
        data={"attach-file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def events_of(session, action: str) -> list[HistoryEvent]:
    return list(session.scalars(select(HistoryEvent).filter_by(action=action).order_by(HistoryEvent.id)))


# --- comments --------------------------------------------------------------------------------


def test_comment_thread_round_trip_on_a_request(make, session, login_as):
    liaison, manager = make.liaison(), make.manager()
    request = make.request(liaison)
    version = request.version
    path = f"/requests/{request.id}"
    response = post_comment(login_as(manager), path, "土木センターに確認します。")
    assert response.status_code == 302 and response.headers["Location"].endswith(path)
    assert post_comment(login_as(liaison), path, "自治会長にも伝えました。").status_code == 302

    page = login_as(manager).get(path).get_data(as_text=True)
    first, second = page.index("土木センターに確認します。"), page.index("自治会長にも伝えました。")
    assert first < second < page.index('id="form-comment"')  # newest last, the form under them
    thread = page[page.index('id="comments"') :]
    assert manager.display_name in thread and "区役所 管理職・中央区" in thread
    assert "地域担当職員・中央区まちづくりセンター" in thread
    for comment in teamwork.comments_of(session, request):
        assert datetime_label(comment.created_at) in thread
    [one, two] = events_of(session, "comment")
    assert (one.comment, one.actor_id, one.service_request_id) == (
        "土木センターに確認します。",
        manager.id,
        request.id,
    )
    assert two.actor_id == liaison.id
    session.expire_all()
    assert session.get(ServiceRequest, request.id).version == version  # a comment is no new version


def test_comment_thread_on_an_issue_with_the_bureau(make, session, login_as):
    manager, staff, liaison = make.manager(), make.staff("環境局"), make.liaison()
    issue = make.issue(S.CONSULTING, manager=manager, staff=staff)
    path = f"/issues/{issue.id}"
    assert post_comment(login_as(staff), path, "予算要求の資料をください。").status_code == 302
    assert post_comment(login_as(manager), path, "来週送ります。").status_code == 302
    assert post_comment(login_as(liaison), path, "地元の声をまとめました。").status_code == 302

    for reader in (staff, manager, liaison):
        page = login_as(reader).get(path).get_data(as_text=True)
        texts = ["予算要求の資料をください。", "来週送ります。", "地元の声をまとめました。"]
        assert [page.index(text) for text in texts] == sorted(page.index(text) for text in texts)
        assert "局 担当者・環境局" in page
    assert [c.author_id for c in teamwork.comments_of(session, issue)] == [staff.id, manager.id, liaison.id]


def test_a_comment_thread_loads_its_authors_in_one_query(make, session, count_queries):
    issue = make.issue(S.CONSULTING)
    for author in (make.manager(), make.staff("環境局"), make.liaison(), make.admin()):
        teamwork.comment(Context(session, author, issue, {"body": "確認しました"}, TODAY))
    session.commit()
    session.expire_all()
    assert issue.id  # loaded again before counting
    count_queries.clear()
    thread = teamwork.comments_of(session, issue)
    names = [(c.author.display_name, c.author.ward, c.author.center, c.author.bureau) for c in thread]
    assert len(names) == 4
    assert len([s for s in count_queries if s.startswith("SELECT")]) == 1


@pytest.mark.parametrize("who", ["east_manager", "east_liaison", "other_bureau", "unsent_bureau"])
def test_who_may_not_see_the_subject_may_not_comment(make, session, login_as, who):
    issue = make.issue(S.CONSULTING)
    draft = make.issue(S.DRAFT)
    actor, path = {
        "east_manager": (make.manager("東区"), f"/issues/{issue.id}"),
        "east_liaison": (make.liaison("東区"), f"/requests/{issue.requests[0].id}"),
        "other_bureau": (make.staff("消防局"), f"/issues/{issue.id}"),
        "unsent_bureau": (make.staff("環境局"), f"/issues/{draft.id}"),  # a draft is not sent yet
    }[who]
    before = (count(session, Comment), count(session, HistoryEvent), count(session, Notification))
    response = post_comment(login_as(actor), path)
    assert response.status_code == 403
    assert "権限がありません" in response.get_data(as_text=True)
    assert (count(session, Comment), count(session, HistoryEvent), count(session, Notification)) == before


def test_bureau_staff_see_comments_on_a_request_only_when_they_see_the_request(make, session, login_as):
    staff = make.staff("環境局")
    bundled = make.issue(S.CONSULTING).requests[0]
    alone = make.request()
    client = login_as(staff)
    assert post_comment(client, f"/requests/{bundled.id}", "現場写真を拝見しました。").status_code == 302
    assert "現場写真を拝見しました。" in client.get(f"/requests/{bundled.id}").get_data(as_text=True)
    assert post_comment(client, f"/requests/{alone.id}").status_code == 403
    assert client.get(f"/requests/{alone.id}").status_code == 403


@pytest.mark.parametrize(
    ("body", "message"), [("   ", "コメント: 入力してください。"), ("長" * 5001, "5000文字以内")]
)
def test_a_blank_or_too_long_comment_is_refused_as_typed(make, session, login_as, body, message):
    request = make.request()
    response = post_comment(login_as(make.manager()), f"/requests/{request.id}", body)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and count(session, Comment) == 0
    if body.strip():
        assert body in page  # what was typed is still there


# --- notifications -----------------------------------------------------------------------------


def notices(session, event) -> list[Notification]:
    session.expire_all()
    return list(session.scalars(select(Notification).filter_by(history_event_id=event.id)))


def assert_names_the_subject_only(notice: Notification, subject, body: str) -> None:
    text = notice.title + notice.body
    assert subject.reference in notice.title and subject.title in notice.title
    assert body not in text
    for request in getattr(subject, "requests", None) or [subject]:
        assert request.requester_name not in text and request.requester_contact not in text


def test_the_persons_in_charge_hear_of_a_comment_without_its_text(make, session, login_as):
    drafter, owner, staff, bureau_owner = make.manager(), make.manager(), make.staff(), make.staff()
    issue = make.issue(S.CONSULTING, manager=drafter, staff=staff)
    issue.ward_owner, issue.bureau_owner = owner, bureau_owner
    session.commit()
    body = "要望者の熊本さんに電話で確認済み、詳細は別紙。"
    assert post_comment(login_as(staff), f"/issues/{issue.id}", body).status_code == 302
    [event] = events_of(session, "comment")
    sent = notices(session, event)
    assert sorted(n.user_id for n in sent) == sorted([owner.id, bureau_owner.id])  # not the drafter
    for notice in sent:
        assert_names_the_subject_only(notice, issue, body)
        assert notice.kind == "issue.comment" and notice.url == f"/issues/{issue.id}"


def test_an_issue_without_persons_in_charge_tells_its_drafter_and_nobody_else(make, session, login_as):
    drafter, staff = make.manager(), make.staff()
    make.staff()  # another member of the lead bureau, who hears nothing
    issue = make.issue(S.CONSULTING, manager=drafter, staff=staff)
    assert post_comment(login_as(staff), f"/issues/{issue.id}").status_code == 302
    assert [n.user_id for n in notices(session, events_of(session, "comment")[-1])] == [drafter.id]
    assert post_comment(login_as(drafter), f"/issues/{issue.id}").status_code == 302
    assert notices(session, events_of(session, "comment")[-1]) == []  # never the comment's author


def test_the_liaison_who_logged_a_request_hears_of_a_comment_on_it(make, session, login_as):
    liaison = make.liaison()
    request = make.request(liaison)
    body = "熊本 太郎さん (096-000-0000) に折り返します。"
    assert post_comment(login_as(make.manager()), f"/requests/{request.id}", body).status_code == 302
    [notice] = notices(session, events_of(session, "comment")[-1])
    assert notice.user_id == liaison.id
    assert_names_the_subject_only(notice, request, body)
    assert post_comment(login_as(liaison), f"/requests/{request.id}").status_code == 302
    assert notices(session, events_of(session, "comment")[-1]) == []


# --- attachments -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "content_type", "stored_as", "disposition"),
    [
        (PDF_BYTES, "陳情書.pdf", "application/pdf", "陳情書.pdf", "attachment"),
        (png_bytes(), "現場.png", "image/png", "現場.png", "inline"),
        (docx_bytes(), "議事録.docx", attachments.DOCX.content_type, "議事録.docx", "attachment"),
        (PDF_BYTES, "../../見積.PDF", "application/pdf", "見積.PDF", "attachment"),
        (png_bytes(), "写真.pdf", "image/png", "写真.pdf.png", "inline"),  # named by what it is
    ],
)
def test_files_are_taken_by_their_content_and_served_as_stored(
    make, session, login_as, data, name, content_type, stored_as, disposition
):
    manager, staff = make.manager(), make.staff("環境局")
    issue = make.issue(S.CONSULTING, manager=manager, staff=staff)
    client = login_as(manager)
    assert post_file(client, f"/issues/{issue.id}", data, name).status_code == 302
    row = session.scalars(select(Attachment)).one()
    assert (row.original_name, row.content_type, row.size_bytes) == (stored_as, content_type, len(data))
    assert row.ward_issue_id == issue.id and row.uploaded_by_id == manager.id
    [event] = events_of(session, "attach")
    assert event.data == {"attachment": stored_as, "size_bytes": len(data)}

    page = login_as(staff).get(f"/issues/{issue.id}").get_data(as_text=True)
    assert stored_as in page and manager.display_name in page[page.index('id="attachments"') :]
    served = login_as(staff).get(f"/attachments/{row.id}")
    assert served.status_code == 200 and served.data == data
    assert served.mimetype == content_type
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith(disposition)
    assert "sandbox" in served.headers["Content-Security-Policy"]


ZIP_OF_NOTHING = io.BytesIO()
with zipfile.ZipFile(ZIP_OF_NOTHING, "w") as _archive:
    _archive.writestr("readme.txt", "not an Office file")


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\0" * 100, "見積書.pdf", "として読み取れません"),
        (b"<!doctype html><script>alert(1)</script>", "議事録.pdf", "として読み取れません"),
        (b"", "空.pdf", "が空です"),
        (ZIP_OF_NOTHING.getvalue(), "資料.docx", "として読み取れません"),
        (docx_bytes(extra_entries=attachments.ZIP_MAX_ENTRIES), "爆弾.docx", "多すぎるか大きすぎる"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "壊れた.png", "として読み取れません"),
    ],
)
def test_files_whose_content_is_not_an_accepted_kind_are_refused(
    make, session, login_as, data, name, message
):
    request = make.request()
    before = count(session, HistoryEvent)
    response = post_file(login_as(make.manager()), f"/requests/{request.id}", data, name)
    assert response.status_code == 422, response.status_code
    assert message in response.get_data(as_text=True)
    assert count(session, Attachment) == 0 and count(session, HistoryEvent) == before


def test_a_docx_that_unpacks_too_large_is_refused(make, session, login_as, monkeypatch):
    monkeypatch.setattr(attachments, "ZIP_MAX_UNCOMPRESSED", 1024 * 1024)
    request = make.request()
    response = post_file(
        login_as(make.manager()), f"/requests/{request.id}", docx_bytes(big_entry=2**21), "a.docx"
    )
    assert response.status_code == 422 and "多すぎるか大きすぎる" in response.get_data(as_text=True)
    assert count(session, Attachment) == 0


def test_the_size_and_count_limits_come_from_the_config(app, make, session, login_as, monkeypatch):
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_BYTES", 1024 * 1024)
    monkeypatch.setitem(app.config, "ATTACHMENT_MAX_COUNT", 1)
    request = make.request()
    client = login_as(make.manager())
    large = PDF_BYTES + b"\0" * (1024 * 1024)
    response = post_file(client, f"/requests/{request.id}", large, "大きい.pdf")
    assert response.status_code == 422 and "大きすぎます (1MBまで)" in response.get_data(as_text=True)
    assert post_file(client, f"/requests/{request.id}", PDF_BYTES, "一つ目.pdf").status_code == 302
    response = post_file(client, f"/requests/{request.id}", PDF_BYTES, "二つ目.pdf")
    assert response.status_code == 422 and "1個まで" in response.get_data(as_text=True)
    assert count(session, Attachment) == 1


def test_an_upload_without_a_file_is_refused(make, session, login_as):
    request = make.request()
    response = login_as(make.manager()).post(f"/requests/{request.id}/attachments", data={})
    assert response.status_code == 422 and "ファイルを選んでください" in response.get_data(as_text=True)


def test_legacy_office_files_are_told_by_their_streams():
    header = attachments.OLE2_HEADER + b"\0" * 500
    word = header + "WordDocument".encode("utf-16-le")
    excel = header + "Workbook".encode("utf-16-le")
    assert attachments.check_file(io.BytesIO(word), "議事録.doc", 10_000).kind is attachments.DOC
    assert attachments.check_file(io.BytesIO(excel), "集計.xls", 10_000).kind is attachments.XLS
    with pytest.raises(WorkflowError, match="として読み取れません"):
        attachments.check_file(io.BytesIO(header), "不明.doc", 10_000)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\a\\陳情書.pdf", "陳情書.pdf"),
        ("\x00\x1b[31m見積\u202e.pdf", "[31m見積.pdf"),
        ("...hidden.pdf", "hidden.pdf"),
        ("", "添付ファイル"),
        ("あ" * 300 + ".pdf", "あ" * 196 + ".pdf"),
    ],
)
def test_original_names_are_cleaned(raw, clean):
    assert attachments.clean_name(raw) == clean


def test_files_are_served_only_to_those_who_see_the_subject(make, session, login_as):
    manager, liaison = make.manager(), make.liaison()
    issue = make.issue(S.CONSULTING, manager=manager)
    request = issue.requests[0]
    client = login_as(liaison)
    assert post_file(client, f"/requests/{request.id}", PDF_BYTES, "陳情書.pdf").status_code == 302
    assert post_file(client, f"/issues/{issue.id}", PDF_BYTES, "資料.pdf").status_code == 302
    on_request, on_issue = session.scalars(select(Attachment).order_by(Attachment.id)).all()
    for outsider in (make.liaison("東区"), make.staff("消防局")):
        for row in (on_request, on_issue):
            response = login_as(outsider).get(f"/attachments/{row.id}")
            assert response.status_code == 403 and "権限がありません" in response.get_data(as_text=True)
    lead = login_as(make.staff("環境局"))
    assert lead.get(f"/attachments/{on_request.id}").status_code == 200
    assert lead.get(f"/attachments/{on_issue.id}").status_code == 200
    assert login_as(manager).get(f"/attachments/{on_issue.id + 1000}").status_code == 404


def test_a_file_whose_row_is_rolled_back_is_deleted_and_a_committed_one_kept(app, make, session):
    request = make.request()
    liaison = request.logged_by
    workflow.apply(session, liaison, request, "attach", attach_payload(), today=TODAY)
    session.commit()
    kept = Path(app.config["ATTACHMENT_DIR"], session.scalars(select(Attachment.stored_name)).one())
    workflow.apply(session, liaison, request, "attach", attach_payload(name="議事録.pdf"), today=TODAY)
    names = set(session.scalars(select(Attachment.stored_name)))
    discarded = Path(app.config["ATTACHMENT_DIR"], (names - {kept.name}).pop())
    assert discarded.exists()
    session.rollback()  # what run_action does when the action or its commit fails
    assert kept.exists() and not discarded.exists()
    assert session.scalars(select(Attachment.stored_name)).all() == [kept.name]
