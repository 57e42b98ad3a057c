"""The lists: filters, scope, sorting, keyset pages, garbage in the URL, a constant query count."""

from __future__ import annotations

import datetime as dt
import html
import itertools
import re
from urllib.parse import quote

import pytest
from sqlalchemy import select

from tracker.extensions import db
from tracker.finding import keyset, listing
from tracker.formatting import today_in_tokyo
from tracker.models import Center, ServiceRequest, User, Ward
from tracker.states import IssueState, RequestState, Source

from .factories import TODAY

_numbers = itertools.count(1)
REF = re.compile(r'class="ref"><a [^>]*>([^<]+)</a>')
NEXT = re.compile(r'<a href="([^"]+)" rel="next">')
PREV = re.compile(r'<a href="([^"]+)" rel="prev">')


def bulk_requests(session, user: User, count: int, *, center: Center | None = None, **fields) -> list:
    """``count`` requests inserted directly (fast), logged by ``user`` at its center (or ``center``).

    ``fields`` values may be callables of the row number (to make ties and spreads)."""
    center = center or user.center or session.get(Ward, user.ward_id).centers[0]
    category_id = fields.pop("category_id", None)
    if category_id is None:
        from tracker.models import Category

        category_id = session.execute(select(Category.id).order_by(Category.id)).scalars().first()
    rows = []
    for n in range(count):
        number = next(_numbers)
        values = {
            "reference": f"T-{number:06d}",
            "fiscal_year": 2024,
            "title": f"要望 {number}",
            "description": "",
            "category_id": category_id,
            "center_id": center.id,
            "ward_id": center.ward_id,
            "source": Source.PHONE,
            "received_on": TODAY,
            "answer_due_on": today_in_tokyo() + dt.timedelta(days=14),
            "logged_by_id": user.id,
            "requester_name": "熊本 太郎",
            "requester_contact": "096-000-0000",
        }
        for name, value in fields.items():
            values[name] = value(n) if callable(value) else value
        rows.append(ServiceRequest(**values))
    session.add_all(rows)
    session.commit()
    return rows


def refs(response) -> list[str]:
    assert response.status_code == 200, response.status_code
    return REF.findall(response.get_data(as_text=True))


def link(pattern, response) -> str | None:
    found = pattern.search(response.get_data(as_text=True))
    return html.unescape(found.group(1)) if found else None


def selects(statements: list[str]) -> list[str]:
    """The SELECTs among the statements run (SAVEPOINTs of the test's session aside)."""
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def flat(pages: list[list[str]]) -> list[str]:
    return [ref for page in pages for ref in page]


def walk(client, url: str, pattern=NEXT) -> list[list[str]]:
    pages = []
    while url:
        response = client.get(url)
        pages.append(refs(response))
        url = link(pattern, response)
        assert len(pages) < 100
    return pages


# --- filters ---------------------------------------------------------------------------------


def test_each_request_filter_narrows(make, session, login_as):
    manager = make.manager()
    liaison = make.liaison()
    base = bulk_requests(session, liaison, 2)
    by_source = bulk_requests(session, liaison, 1, source=Source.COUNTER)
    by_state = bulk_requests(session, liaison, 1, state=RequestState.ANSWERED)
    by_year = bulk_requests(session, liaison, 1, fiscal_year=2023)
    overdue = bulk_requests(session, liaison, 1, answer_due_on=dt.date(2000, 1, 1))
    by_manager = bulk_requests(session, manager, 1, center=liaison.center)
    by_text = bulk_requests(session, liaison, 1, title="公園の防犯灯が暗い")
    everyone = base + by_source + by_state + by_year + overdue + by_manager + by_text
    client = login_as(manager)
    all_refs = {r.reference for r in everyone}
    assert set(refs(client.get("/requests/"))) == all_refs
    expectations = {
        f"source={Source.COUNTER.value}": by_source,
        "state=answered": by_state,
        "fiscal_year=2023": by_year,
        "overdue=1": overdue,
        f"logged_by={manager.id}": by_manager,
        "q=防犯灯": by_text,
        f"center={liaison.center_id}": everyone,
    }
    for query, expected in expectations.items():
        assert set(refs(client.get(f"/requests/?{query}"))) == {r.reference for r in expected}, query
    # several states at once, and two filters together
    both = set(refs(client.get("/requests/?state=answered&state=received")))
    assert both == all_refs
    assert refs(client.get("/requests/?state=answered&source=counter")) == []


def test_category_and_ward_filters_for_the_admin(make, session, login_as):
    from tracker.models import Category

    categories = session.execute(select(Category).order_by(Category.id)).scalars().all()[:2]
    central, east = make.liaison(), make.liaison("東区")
    a = bulk_requests(session, central, 2, category_id=categories[0].id)
    b = bulk_requests(session, east, 3, category_id=categories[1].id)
    client = login_as(make.admin())
    assert set(refs(client.get(f"/requests/?ward={east.ward_id}"))) == {r.reference for r in b}
    assert set(refs(client.get(f"/requests/?category={categories[0].id}"))) >= {r.reference for r in a}
    assert not set(refs(client.get(f"/requests/?category={categories[0].id}"))) & {r.reference for r in b}


def test_each_issue_filter_narrows(make, session, login_as):
    manager = make.manager()
    draft = make.issue(IssueState.DRAFT, manager=manager, with_request=False)
    decided = make.issue(IssueState.DECIDED, manager=manager, with_request=False, lead="消防局")
    rejected = make.issue(IssueState.NOT_ADOPTED, manager=manager, with_request=False)
    draft.fiscal_year = 2023
    draft.title = "ごみステーションの整備"
    session.commit()
    client = login_as(manager)
    fire, env = make.bureau("消防局"), make.bureau("環境局")
    expectations = {
        "": {draft, decided, rejected},
        "state=decided": {decided},
        "state=decided&state=not_adopted": {decided, rejected},
        "decision=reject": {rejected},
        f"bureau={fire.id}": {decided},
        f"bureau={env.id}": {draft, rejected},
        "fiscal_year=2023": {draft},
        "q=ごみステーション": {draft},
    }
    for query, expected in expectations.items():
        assert set(refs(client.get(f"/issues/?{query}"))) == {i.reference for i in expected}, query


def test_the_bureau_inbox_keeps_its_tabs_and_filters(make, session, login_as):
    staff = make.staff("環境局")
    consulting = make.issue(IssueState.CONSULTING, staff=staff)
    east = make.issue(IssueState.CONSULTING, ward="東区", staff=staff)
    decided = make.issue(IssueState.DECIDED, staff=staff)
    make.issue(IssueState.CONSULTING, lead="消防局")  # another bureau's
    client = login_as(staff)
    assert refs(client.get("/bureau/")) == [consulting.reference, east.reference]  # oldest sent first
    assert refs(client.get("/bureau/?tab=decided")) == [decided.reference]
    assert set(refs(client.get("/bureau/?tab=all"))) == {
        consulting.reference,
        east.reference,
        decided.reference,
    }
    assert refs(client.get(f"/bureau/?tab=all&ward={east.ward_id}")) == [east.reference]
    assert refs(client.get("/bureau/?tab=all&decision=adopt")) == [decided.reference]
    page = client.get(f"/bureau/?tab=consulting&ward={east.ward_id}").get_data(as_text=True)
    assert 'name="tab" value="consulting"' in page  # the form keeps the tab
    assert "tab=consulting" in page and "区: 東区" in page  # the chip


# --- scope -----------------------------------------------------------------------------------


def test_a_ward_user_cannot_widen_the_scope_through_the_url(make, session, login_as):
    central = make.liaison()
    east = make.liaison("東区")
    own = bulk_requests(session, central, 2)
    theirs = bulk_requests(session, east, 2)
    east_issue = make.issue(IssueState.DRAFT, ward="東区", with_request=False)
    own_issue = make.issue(IssueState.DRAFT, with_request=False)
    for user in (central, make.manager()):
        client = login_as(user)
        for query in (
            f"ward={east.ward_id}",
            f"center={east.center_id}",
            f"logged_by={east.id}",
            f"ward={east.ward_id}&center={east.center_id}&logged_by={east.id}",
            f"ward={user.ward_id}&ward={east.ward_id}",
        ):
            response = client.get(f"/requests/?{query}")
            got = set(refs(response))
            assert not got & {r.reference for r in theirs}, query
            assert got == {r.reference for r in own}, query
            assert "選べないため" in response.get_data(as_text=True), query
            exported = client.get(f"/requests/?{query}&format=csv").get_data(as_text=True)
            assert not any(r.reference in exported for r in theirs), query
        got = set(refs(client.get(f"/issues/?ward={east_issue.ward_id}")))
        assert got == {own_issue.reference}


def test_bureau_staff_see_only_their_bureau_whatever_the_url(make, session, login_as):
    staff = make.staff("環境局")
    mine = make.issue(IssueState.CONSULTING, staff=staff)
    other = make.issue(IssueState.CONSULTING, lead="消防局")
    client = login_as(staff)
    fire = make.bureau("消防局")
    assert refs(client.get(f"/bureau/?tab=all&bureau={fire.id}")) == []
    assert other.reference not in refs(client.get("/bureau/?tab=all"))
    assert mine.reference in refs(client.get("/bureau/?tab=all"))


# --- sorting and keyset pages ----------------------------------------------------------------


def _sorted_refs(rows, attr: str, direction: str) -> list[str]:
    ordered = sorted(rows, key=lambda r: (getattr(r, attr), r.id), reverse=direction == "desc")
    return [r.reference for r in ordered]


@pytest.mark.parametrize("sort", ["received", "due", "reference", "updated"])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_requests_sort_both_ways(make, session, login_as, app, monkeypatch, sort, direction):
    liaison = make.liaison()
    start = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
    rows = bulk_requests(
        session,
        liaison,
        12,
        received_on=lambda n: TODAY - dt.timedelta(days=n % 3),  # ties
        answer_due_on=lambda n: TODAY + dt.timedelta(days=(n * 7) % 5),
        updated_at=lambda n: start + dt.timedelta(hours=n % 4),
    )
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    client = login_as(liaison)
    attr = listing.REQUEST_SORTS[sort].attr
    pages = walk(client, f"/requests/?sort={sort}&direction={direction}")
    assert [len(p) for p in pages] == [5, 5, 2]
    assert flat(pages) == _sorted_refs(rows, attr, direction)


def test_keyset_walks_every_row_once_in_order_with_ties(make, session, login_as, count_queries):
    liaison = make.liaison()
    rows = bulk_requests(session, liaison, 230, received_on=lambda n: TODAY - dt.timedelta(days=n % 9))
    expected = _sorted_refs(rows, "received_on", "desc")
    client = login_as(liaison)
    pages = walk(client, "/requests/")
    assert [len(p) for p in pages] == [50, 50, 50, 50, 30]
    assert flat(pages) == expected
    assert "該当 230件" in client.get("/requests/").get_data(as_text=True)
    # and back again with 前へ, from the last page
    last = client.get("/requests/")
    for _ in range(4):
        last = client.get(link(NEXT, last))
    back = walk(client, link(PREV, last), PREV)
    assert [ref for page in reversed(back) for ref in page] == expected[:200]
    # a deep page: the cursor of the 200th row
    by_ref = {r.reference: r for r in rows}
    row = by_ref[expected[199]]
    cursor = listing.encode_cursor("received", "desc", row.received_on, row.id)
    assert refs(client.get(f"/requests/?after={cursor}")) == expected[200:]
    before = listing.encode_cursor("received", "desc", row.received_on, row.id)
    assert refs(client.get(f"/requests/?before={before}")) == expected[149:199]


@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_issue_keyset_with_nullable_sort_key(make, session, login_as, app, monkeypatch, direction):
    manager = make.manager()
    issues = [make.issue(IssueState.DRAFT, manager=manager, with_request=False) for _ in range(7)]
    for number, issue in enumerate(issues):
        issue.decided_on = None if number % 3 == 0 else dt.date(2024, 5, 1 + number % 2)
    session.commit()
    monkeypatch.setitem(app.config, "PAGE_SIZE", 2)
    client = login_as(manager)
    pages = walk(client, f"/issues/?sort=decided&direction={direction}")
    dated = [i for i in issues if i.decided_on]
    undated = sorted((i for i in issues if not i.decided_on), key=lambda i: i.id, reverse=direction == "desc")
    expected = _sorted_refs(dated, "decided_on", direction) + [i.reference for i in undated]
    assert flat(pages) == expected
    last = client.get(f"/issues/?sort=decided&direction={direction}")
    for _ in range(3):
        last = client.get(link(NEXT, last))
    back = walk(client, link(PREV, last), PREV)
    assert [ref for page in reversed(back) for ref in page] == expected[:6]


@pytest.mark.parametrize("sort", ["fiscal_year", "updated", "reference", "sent"])
def test_issue_sorts(make, session, login_as, sort):
    manager = make.manager()
    issues = [make.issue(IssueState.CONSULTING, manager=manager, with_request=False) for _ in range(3)]
    issues[0].fiscal_year = 2022
    session.commit()
    client = login_as(manager)
    attr = listing.ISSUE_SORTS[sort].attr
    for direction in ("asc", "desc"):
        assert refs(client.get(f"/issues/?sort={sort}&direction={direction}")) == _sorted_refs(
            issues, attr, direction
        )


# --- garbage ---------------------------------------------------------------------------------

GARBAGE = [
    "ward=abc",
    "ward=99999999999999999999",
    "ward=-1",
    "center=１２",
    "category=0x10",
    "state=nope",
    "state=",
    "source=%00",
    "fiscal_year=1999",
    "fiscal_year=２０２４",
    "bureau=1e3",
    "decision=maybe",
    "overdue=maybe",
    "logged_by=' OR 1=1 --",
    "q=" + "あ" * 500,
    "q=%25_%5C",
    "q=\"'<script>",
    "sort=drop table",
    "direction=sideways",
    "after=%%%",
    "after=bm90IGpzb24",
    "after=WyJyZWNlaXZlZCIsImRlc2MiLCJ4IiwxXQ",  # ["received","desc","x",1]
    "after=WyJyZWNlaXZlZCIsImRlc2MiLCIyMDI0LTAxLTAxIiwiMSJd",  # id as a string
    "before=" + "A" * 5000,
    "after=a&before=b",
    "page=-5",
    "format=pdf",
    "tab=../../etc",
]


@pytest.mark.parametrize("query", GARBAGE)
def test_garbage_parameters_never_fail(make, session, login_as, query):
    liaison = make.liaison()
    bulk_requests(session, liaison, 3)
    staff = make.staff()
    make.issue(IssueState.CONSULTING, staff=staff)
    for user, path in ((liaison, "/requests/"), (liaison, "/issues/"), (staff, "/bureau/")):
        response = login_as(user).get(f"{path}?{query}")
        # (a NUL byte is refused by the app as a whole, with a 400)
        assert response.status_code == (400 if "%00" in query else 200), (path, query)


def test_a_notice_says_what_was_dropped(make, session, login_as):
    client = login_as(make.manager())
    text = client.get("/requests/?state=nope&sort=bogus&after=xyz").get_data(as_text=True)
    assert "状態「nope」は選べないため、条件から外しました。" in text
    assert "既定の並び順にしました" in text
    assert "ページの位置が読み取れないため" in text


def test_the_filters_live_in_the_url_with_removable_chips(make, session, login_as):
    liaison = make.liaison()
    bulk_requests(session, liaison, 2)
    client = login_as(liaison)
    text = html.unescape(client.get("/requests/?state=received&source=phone&q=要望").get_data(as_text=True))
    assert "状態: 受付" in text and "要望元: 電話" in text and "キーワード: 「要望」" in text
    # each chip links to the same list without it
    q = quote("要望")
    assert f"/requests/?source=phone&q={q}" in text
    assert f"/requests/?state=received&q={q}" in text
    assert "/requests/?state=received&source=phone" in text


# --- query counts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/requests/?state=received&sort=due&direction=asc",
        "/requests/?q=要望&overdue=0",
        "/issues/?state=consulting",
        "/bureau/?tab=all&decision=",
    ],
)
def test_filtered_list_pages_run_a_constant_number_of_queries(make, session, login_as, count_queries, path):
    liaison = make.liaison()
    manager = make.manager()
    staff = make.staff("環境局")
    client = login_as(staff if path.startswith("/bureau") else manager)

    def add(count):
        bulk_requests(session, liaison, count)
        for _ in range(max(1, count // 10)):
            make.issue(IssueState.BUDGETED, manager=manager, staff=staff)

    def queries():
        count_queries.clear()
        assert client.get(path).status_code == 200
        assert client.get(path + "&after=" + _any_cursor(path)).status_code == 200
        return len(selects(count_queries))

    add(3)
    queries()  # the first request of a test session also loads the user's ward and so on
    few = queries()
    add(30)
    assert queries() == few


def _any_cursor(path: str) -> str:
    if path.startswith("/requests/"):
        return listing.encode_cursor("due", "asc", "2024-06-17", 1) if "sort=due" in path else ""
    return ""


def test_page_runs_count_and_rows_only(make, session, count_queries):
    """The listing itself: one COUNT and one SELECT of rows (plus eager loads for issues)."""
    liaison = make.liaison()
    bulk_requests(session, liaison, 5)
    flt = listing.parse({}, listing.REQUESTS, {"state": {}})
    from tracker.finding import queries

    count_queries.clear()
    page = keyset.page(db.session, queries.requests_for(liaison), flt, size=2)
    assert len(selects(count_queries)) == 2
    assert page.total == 5 and page.has_next and not page.has_prev and len(page.items) == 2


def test_cursor_round_trip_and_rejection():
    key = listing.REQUEST_SORTS["updated"]
    moment = dt.datetime(2024, 6, 3, 1, 2, 3, 456789, tzinfo=dt.UTC)
    raw = listing.encode_cursor("updated", "desc", moment, 42)
    assert listing.decode_cursor(raw, "updated", "desc", key) == (moment, 42)
    for wrong in (("updated", "asc"), ("received", "desc")):
        with pytest.raises(ValueError):
            listing.decode_cursor(raw, *wrong, key)
    naive = listing.encode_cursor("updated", "desc", "2024-06-03T01:02:03", 1)
    with pytest.raises(ValueError):
        listing.decode_cursor(naive, "updated", "desc", key)
    assert listing.decode_cursor(
        listing.encode_cursor("decided", "asc", None, 3), "decided", "asc", listing.ISSUE_SORTS["decided"]
    ) == (None, 3)


def test_the_count_stops_at_the_cap(make, session, login_as, monkeypatch):
    monkeypatch.setattr(keyset, "COUNT_CAP", 20)
    liaison = make.liaison()
    bulk_requests(session, liaison, 20)
    bulk_requests(session, liaison, 5, state=RequestState.ANSWERED)
    client = login_as(liaison)
    assert "該当 20件以上" in client.get("/requests/").get_data(as_text=True)
    assert "該当 5件" in client.get("/requests/?state=answered").get_data(as_text=True)
    assert "Matches: 20+" in client.get("/requests/?lang=en").get_data(as_text=True)
    client.get("/requests/?lang=ja")
    assert len(flat(walk(client, "/requests/"))) == 25
