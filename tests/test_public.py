"""The public pages: no login, only the issues a ward published, nothing personal, a valid Atom feed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tracker import workflow
from tracker.states import IssueState

from .factories import TODAY

ATOM = "{http://www.w3.org/2005/Atom}"
SECRETS = ("熊本 太郎", "096-000-0000", "公園前の街灯が1週間ほど消えたまま", "大江町内自治会")


def _completed_with_a_note(make, session, manager, staff, note: str):
    issue = make.issue(IssueState.IMPLEMENTING, manager=manager, staff=staff)
    workflow.apply(session, staff, issue, "note", {"body": note}, today=TODAY)
    executed = {line.id: line.allocated_yen for line in issue.budget_lines}
    workflow.apply(
        session, staff, issue, "complete", {"outcome": "設置した", "executed": executed}, today=TODAY
    )
    session.commit()
    return issue


def _publish(make, issue, manager, **texts):
    """The issue's first draft (``texts`` over it) written by ``manager``, approved by a second
    manager of the ward, and the issue made public."""
    make.approved_publication(issue, manager, texts=texts)


def _unpublish(session, issue, manager):
    workflow.apply(session, manager, issue, "set_public", {"is_public": False}, today=TODAY)
    session.commit()


@pytest.fixture
def published(make, session):
    """A completed public issue of 中央区 (with a progress note), a public one of 東区, and
    unpublished ones; every request carries the requester's name and contact."""
    manager, staff = make.manager("中央区"), make.staff("環境局")
    done = _completed_with_a_note(make, session, manager, staff, "工事に着手しました")
    _publish(make, done, manager, progress_text="工事に着手しました")
    higashi = make.manager("東区")
    east = make.issue(IssueState.CONSULTING, ward="東区", manager=higashi, lead="消防局")
    _publish(make, east, higashi)
    hidden = make.issue(IssueState.BUDGETED, manager=manager, staff=staff)
    # the flag alone (set before public texts existed) publishes nothing: not on a draft, not on
    # one awaiting a second manager's approval, not on one whose public text nobody approved
    draft = make.issue(IssueState.DRAFT, manager=manager)
    awaiting = make.issue(IssueState.AWAITING_APPROVAL, manager=manager)
    unapproved = make.issue(IssueState.DECIDED, manager=manager, staff=staff)
    workflow.apply(
        session, manager, unapproved, "write_public_text", {"title": "確認前の公開内容"}, today=TODAY
    )
    for flagged in (draft, awaiting, unapproved):
        flagged.is_public = True
    session.commit()
    return {
        "done": done,
        "east": east,
        "hidden": hidden,
        "draft": draft,
        "awaiting": awaiting,
        "unapproved": unapproved,
        "people": [manager, staff, higashi],
    }


def _no_personal_data(text: str, people) -> None:
    for secret in SECRETS:
        assert secret not in text, secret
    for user in people:
        assert user.display_name not in text and user.login not in text


def test_anonymous_visitors_see_only_the_published_issues(published, client):
    page = client.get("/public/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert published["done"].reference in text and published["east"].reference in text
    for unpublished in ("hidden", "draft", "awaiting", "unapproved"):
        assert published[unpublished].reference not in text, unpublished
    assert "2,000千円" in text and "街灯整備事業" in text  # the public budget text, drafted from the line
    assert "工事に着手しました" in text and "設置した" in text  # the public progress and outcome
    assert "対応する" in text
    assert "まとめた要望</dt><dd>1件" in text
    _no_personal_data(text, published["people"])
    assert "ログアウト" not in text
    assert 'href="/login">職員ログイン</a>' in text  # staff find their way in from the public page
    assert page.headers["Cache-Control"] == "public, max-age=300"
    assert "Cookie" in page.headers["Vary"]


def test_the_filters_by_ward_and_fiscal_year(published, make, client):
    chuo, higashi = make.ward("中央区"), make.ward("東区")
    text = client.get(f"/public/?ward={chuo.id}").get_data(as_text=True)
    assert published["done"].reference in text and published["east"].reference not in text
    text = client.get(f"/public/?ward={higashi.id}&year=2024").get_data(as_text=True)
    assert published["east"].reference in text and published["done"].reference not in text
    text = client.get("/public/?year=2019").get_data(as_text=True)
    assert "公開されている区重要課題はありません" in text
    assert client.get("/public/?ward=abc&year=<script>").status_code == 200


def test_the_detail_page_and_404_for_anything_unpublished(published, session, make, client):
    done = published["done"]
    page = client.get(f"/public/issues/{done.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert done.title in text and "環境局" in text
    _no_personal_data(text, published["people"])
    for issue in (published["hidden"], published["draft"], published["awaiting"], published["unapproved"]):
        assert client.get(f"/public/issues/{issue.id}").status_code == 404
    assert client.get("/public/issues/2147483647").status_code == 404
    _unpublish(session, done, published["people"][0])
    assert client.get(f"/public/issues/{done.id}").status_code == 404


def test_a_logged_in_user_sees_the_public_pages_uncached(published, make, login_as):
    client = login_as(make.liaison())
    page = client.get("/public/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<h1>区重要課題 (公開)</h1>" in text  # the public list, not a staff page
    assert published["done"].reference in text and published["hidden"].reference not in text
    assert "no-store" in page.headers["Cache-Control"]
    done = published["done"]
    detail = client.get(f"/public/issues/{done.id}")
    assert detail.status_code == 200 and f"<h1>{done.title}</h1>" in detail.get_data(as_text=True)
    assert "no-store" in detail.headers["Cache-Control"]


def test_the_atom_feed_is_valid_and_holds_nothing_personal(published, client):
    response = client.get("/public/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)
    assert root.tag == f"{ATOM}feed"
    for name in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{name}") is not None, name
    assert root.find(f"{ATOM}id").text.startswith("tag:")
    self_link = [link for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link and self_link[0].get("href").endswith("/public/feed.atom")
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 2
    ids = set()
    for entry in entries:
        for name in ("id", "title", "updated", "summary", "link"):
            assert entry.find(f"{ATOM}{name}") is not None, name
        ids.add(entry.find(f"{ATOM}id").text)
        assert entry.find(f"{ATOM}id").text.startswith("tag:")
        assert "T" in entry.find(f"{ATOM}updated").text and entry.find(f"{ATOM}updated").text.endswith("Z")
        assert "/public/issues/" in entry.find(f"{ATOM}link").get("href")
    assert len(ids) == 2
    titles = " ".join(entry.find(f"{ATOM}title").text for entry in entries)
    assert published["done"].reference in titles and published["hidden"].reference not in titles
    _no_personal_data(response.get_data(as_text=True), published["people"])


def test_an_empty_feed_is_still_valid(client):
    root = ET.fromstring(client.get("/public/feed.atom").data)
    assert root.find(f"{ATOM}updated").text and root.findall(f"{ATOM}entry") == []


def test_the_public_pages_take_a_constant_number_of_queries(published, make, session, client, count_queries):
    def queries_of(url: str) -> int:
        session.expire_all()
        count_queries.clear()
        assert client.get(url).status_code == 200
        return len([q for q in count_queries if not q.startswith(("SAVEPOINT", "RELEASE"))])

    few_list, few_feed = queries_of("/public/"), queries_of("/public/feed.atom")
    manager, staff = published["people"][:2]
    for _ in range(5):
        issue = _completed_with_a_note(make, session, manager, staff, "進捗")
        _publish(make, issue, manager)
    assert queries_of("/public/") == few_list
    assert queries_of("/public/feed.atom") == few_feed
