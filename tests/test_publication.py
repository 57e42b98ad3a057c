"""公開内容: the public pages show only a text the ward approved, never the internal texts, and
the Atom feed stays well-formed XML whatever the texts hold."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import select, update

from tracker import workflow
from tracker.blueprints.public import xml_text
from tracker.city import masterdata
from tracker.effects import city_settings, publication
from tracker.effects.history import event_details
from tracker.models import WardIssue
from tracker.monitoring_models import IssuePublication
from tracker.states import IssueState
from tracker.workflow import WorkflowError

from .factories import TODAY

ATOM = "{http://www.w3.org/2005/Atom}"
# One marker per internal text: none of them may reach a public page.
INTERNAL = {
    "situation": "内部記録-現状-7F3A",
    "proposal": "内部記録-対応案-7F3B",
    "decision_reason": "内部記録-理由-7F3C",
    "note": "内部記録-進捗-7F3D",
    "outcome": "内部記録-成果-7F3E",
}
PUBLIC = {
    "title": "公開用-件名-街灯のLED化",
    "summary": "公開用-概要-老朽化した街灯を更新します",
    "decision_text": "公開用-協議結果-対応します",
    "budget_text": "公開用-予算-2,000千円",
    "outcome": "公開用-結果-20基を更新しました",
    "progress_text": "公開用-進捗-工事を終えました",
}


def _public_pages(client, issue) -> dict[str, str]:
    urls = (
        "/public/",
        f"/public/?ward={issue.ward_id}",
        f"/public/?year={issue.fiscal_year}",
        f"/public/issues/{issue.id}",
        "/public/feed.atom",
    )
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        pages[url] = response.get_data(as_text=True)
    return pages


def _write(session, actor, issue, texts: dict) -> None:
    workflow.apply(session, actor, issue, "write_public_text", texts, today=TODAY)
    session.commit()


def _approve(session, actor, issue) -> None:
    workflow.apply(session, actor, issue, "approve_public_text", {}, today=TODAY)
    session.commit()


@pytest.fixture
def completed(make, session):
    """A completed issue of 中央区 whose every internal text carries a marker; its managers."""
    manager, approver, staff = make.manager(), make.second_manager(), make.staff("環境局")
    issue = make.issue(IssueState.IMPLEMENTING, manager=manager, approver=approver, staff=staff,
                       situation=INTERNAL["situation"])  # fmt: skip
    make.act(manager, issue, "correct_texts", {"proposal": INTERNAL["proposal"], "comment": "内部の追記"})
    make.act(
        staff, issue, "correct_decision", {"decision_reason": INTERNAL["decision_reason"], "comment": "補足"}
    )
    make.act(staff, issue, "note", {"body": INTERNAL["note"]})
    executed = {line.id: line.allocated_yen for line in issue.budget_lines}
    make.act(staff, issue, "complete", {"outcome": INTERNAL["outcome"], "executed": executed})
    return issue, manager, approver


def test_a_public_page_shows_only_the_approved_text_never_an_internal_one(completed, make, client):
    issue, manager, approver = completed
    make.approved_publication(issue, manager, approver, texts=PUBLIC)
    for url, text in _public_pages(client, issue).items():
        for name, marker in INTERNAL.items():
            assert marker not in text, (url, name)
        assert PUBLIC["title"] in text, url
    detail = client.get(f"/public/issues/{issue.id}").get_data(as_text=True)
    for key, value in PUBLIC.items():
        assert value in detail, key


def test_a_written_text_is_not_public_until_a_manager_approved_it(completed, session, client):
    issue, manager, approver = completed
    _write(session, manager, issue, PUBLIC)
    with pytest.raises(WorkflowError) as refused:
        workflow.apply(session, manager, issue, "set_public", {"is_public": True}, today=TODAY)
    assert refused.value.message == publication.NOT_APPROVED
    session.rollback()
    issue.is_public = True  # even with the flag set by other means: no approval, no page
    session.commit()
    assert client.get(f"/public/issues/{issue.id}").status_code == 404
    assert issue.reference not in client.get("/public/").get_data(as_text=True)
    _approve(session, approver, issue)
    assert client.get(f"/public/issues/{issue.id}").status_code == 200


def test_an_edit_after_approval_takes_the_issue_off_the_public_pages(completed, make, session, client):
    issue, manager, approver = completed
    make.approved_publication(issue, manager, approver, texts=PUBLIC)
    assert client.get(f"/public/issues/{issue.id}").status_code == 200
    _write(session, manager, issue, PUBLIC | {"summary": "書き直した概要"})
    shown = publication.publication_of(session, issue)
    assert (shown.approved_at, shown.approved_by_id, issue.is_public) == (None, None, True)
    assert client.get(f"/public/issues/{issue.id}").status_code == 404
    assert issue.reference not in client.get("/public/").get_data(as_text=True)
    assert ET.fromstring(client.get("/public/feed.atom").data).findall(f"{ATOM}entry") == []
    _approve(session, approver, issue)
    page = client.get(f"/public/issues/{issue.id}").get_data(as_text=True)
    assert "書き直した概要" in page and PUBLIC["summary"] not in page


def test_with_two_pairs_of_eyes_a_second_manager_approves(completed, session):
    issue, manager, approver = completed
    assert city_settings.is_on(session, city_settings.TWO_EYES_APPROVAL)
    _write(session, manager, issue, PUBLIC)
    with pytest.raises(WorkflowError) as refused:
        workflow.apply(session, manager, issue, "approve_public_text", {}, today=TODAY)
    assert refused.value.message == publication.OWN_TEXT
    session.rollback()
    assert publication.publication_of(session, issue).approved_at is None
    _approve(session, approver, issue)
    assert publication.publication_of(session, issue).approved_by_id == approver.id
    # the last writer counts: the approver edits, so now the first manager must look
    _write(session, approver, issue, PUBLIC | {"title": "改めた件名"})
    with pytest.raises(WorkflowError):
        workflow.apply(session, approver, issue, "approve_public_text", {}, today=TODAY)
    session.rollback()
    _approve(session, manager, issue)
    city_settings.set_on(session, city_settings.TWO_EYES_APPROVAL, False)
    _write(session, manager, issue, PUBLIC | {"title": "もう一度改めた件名"})
    _approve(session, manager, issue)  # the city turned the setting off: the writer may approve
    assert publication.publication_of(session, issue).approved_by_id == manager.id


def test_every_change_of_a_public_text_is_in_the_history(completed, session):
    issue, manager, approver = completed
    _write(session, manager, issue, PUBLIC)
    _approve(session, approver, issue)
    _write(session, manager, issue, PUBLIC | {"budget_text": "公開用-予算-2,500千円", "outcome": ""})
    written, approved, edited = issue.events[-3:]
    assert (written.action, approved.action, edited.action) == (
        "write_public_text",
        "approve_public_text",
        "write_public_text",
    )
    assert written.data["public_text"][0] == {"field": "title", "old": None, "new": PUBLIC["title"]}
    assert len(written.data["public_text"]) == 6 and written.data["approval_cleared"] is False
    assert (approved.actor_id, approved.data) == (approver.id, {"public_text_approved": PUBLIC["title"]})
    assert edited.data == {
        "public_text": [
            {"field": "budget_text", "old": PUBLIC["budget_text"], "new": "公開用-予算-2,500千円"},
            {"field": "outcome", "old": PUBLIC["outcome"], "new": ""},
        ],
        "approval_cleared": True,
    }
    line = event_details(edited)
    assert "予算: 公開用-予算-2,000千円 → 公開用-予算-2,500千円" in line
    assert f"結果: {PUBLIC['outcome']} → (なし)" in line and "公開ページから外れます" in line


def test_the_form_starts_from_a_draft_of_the_internal_texts(make, session, login_as):
    manager = make.manager()
    issue = make.issue(IssueState.BUDGETED, manager=manager)
    page = login_as(manager).get(f"/issues/{issue.id}").get_data(as_text=True)
    assert f'action="/issues/{issue.id}/public-text"' in page
    assert "公開内容はまだ作成されていません" in page
    assert f'action="/issues/{issue.id}/public-text/approve"' not in page  # nothing to approve yet
    page = page.split('id="form-write_public_text"', 1)[1].split("</form>", 1)[0]
    assert 'value="公園の街灯の老朽化"' in page  # the title
    assert "LED街灯に更新する</textarea>" in page  # the summary, from the proposal
    assert "対応する\n対応する</textarea>" in page  # the decision's label and reason
    assert "令和7年度 (2025) 街灯整備事業 2,000千円</textarea>" in page  # current lines, in 千円
    assert "校区内の街灯の多くが老朽化している" not in page  # the situation is left out
    assert "別の管理職が「公開内容の確認」を行うまで公開ページに掲載されません" in page


def test_writing_and_approving_through_the_pages(make, session, login_as):
    manager, approver = make.manager(), make.second_manager()
    issue = make.issue(IssueState.CONSULTING, manager=manager, approver=approver)
    client = login_as(manager)
    form = {f"write_public_text-{key}": value for key, value in PUBLIC.items()}
    form["write_public_text-version"] = str(issue.version)
    response = client.post(f"/issues/{issue.id}/public-text", data=form)
    assert response.status_code == 302
    session.refresh(issue)
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "あなたが作成した公開内容のため、「公開内容の確認」は別の管理職が行います。" in page
    own = client.post(
        f"/issues/{issue.id}/public-text/approve", data={"approve_public_text-version": issue.version}
    )
    assert own.status_code == 422 and publication.OWN_TEXT in own.get_data(as_text=True)
    client = login_as(approver)
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "確認待ち" in page and f'action="/issues/{issue.id}/public-text/approve"' in page
    assert "あなたが作成した公開内容" not in page
    response = client.post(
        f"/issues/{issue.id}/public-text/approve", data={"approve_public_text-version": issue.version}
    )
    assert response.status_code == 302
    assert publication.publication_of(session, issue).approved_by_id == approver.id
    blank = client.post(
        f"/issues/{issue.id}/public-text",
        data={"write_public_text-title": " ", "write_public_text-version": str(issue.version)},
    )
    assert blank.status_code == 422 and publication.publication_of(session, issue).approved_at is not None


HOSTILE = {
    "title": "<script>alert(1)</script> & ]]> 🏮 \u202bشارع\u202c \u200f",
    "summary": "A < B && C > D ]]> <![CDATA[ x ]]> \ufffe\uffff end",
    "decision_text": "対応する 👍🏽 \u202e逆向き\u202c",
    "budget_text": "&amp; &#0; &lt;",
    "outcome": "]]>",
    "progress_text": "\u200e左から右\u200f",
}


def test_the_atom_feed_is_well_formed_whatever_the_public_texts_hold(completed, make, session, client):
    issue, manager, approver = completed
    make.approved_publication(issue, manager, approver, texts=HOSTILE)
    # control characters stored before the model boundary stripped them (written with plain SQL;
    # NUL left out: PostgreSQL cannot store it, and every request with one is refused anyway)
    session.execute(
        update(IssuePublication)
        .where(IssuePublication.ward_issue_id == issue.id)
        .values(progress_text="前\x01\x08\x0b\x0c\x1b後\x7f\r\n行", outcome="]]>\x02")
    )
    session.commit()
    response = client.get("/public/feed.atom")
    assert response.status_code == 200
    root = ET.fromstring(response.data)
    (entry,) = root.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == f"{issue.reference} {HOSTILE['title']}"
    summary = entry.find(f"{ATOM}summary").text
    assert "A < B && C > D ]]> <![CDATA[ x ]]>  end" in summary  # U+FFFE, U+FFFF left out
    assert "👍🏽 \u202e逆向き\u202c" in summary and "&amp; &#0; &lt;" in summary
    assert "前後\x7f\n行" in summary and "結果: ]]>。" in summary
    assert "<script>" not in response.get_data(as_text=True)
    for url in ("/public/", f"/public/issues/{issue.id}"):
        page = client.get(url)
        assert page.status_code == 200 and "<script>alert(1)</script>" not in page.get_data(as_text=True)


def test_xml_text_keeps_what_xml_allows_and_drops_what_it_does_not():
    allowed = "tab\tnewline\ncr\r 日本語 🏮 \u202b\u200f \ud7ff \ue000 \ufffd \U0010ffff"
    assert xml_text(allowed) == allowed
    assert xml_text("".join(map(chr, range(0x20))) + "\ufffe\uffff\ud800") == "\t\n\r"


def test_the_demo_shows_its_public_issues_with_approved_texts(session, client, tmp_path):
    masterdata.load_demo_users(session)
    masterdata.load_demo_issues(session, str(tmp_path))
    session.commit()
    public_issues = session.scalars(select(WardIssue).where(WardIssue.is_public.is_(True))).all()
    assert public_issues
    text = client.get("/public/").get_data(as_text=True)
    for issue in public_issues:
        shown = publication.publication_of(session, issue)
        assert shown.approved_at is not None and shown.approved_by_id != shown.written_by_id
        assert issue.reference in text and shown.title in text
