"""Corrections (訂正) and 取消: never silent. Each writes one history event with the old and the
new value of every changed field and the reason, in the same transaction; a correction that
changes nothing, or has no reason, or comes from the wrong role, ward or bureau is refused and
changes nothing; every total follows the corrected values and leaves cancelled lines out."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from tracker import workflow
from tracker.effects import funds
from tracker.effects.history import event_details
from tracker.models import BudgetLine, Center, HistoryEvent, WardFund
from tracker.reporting import dashboards, reports
from tracker.states import IssueState, RequestState
from tracker.workflow import WorkflowError

from .factories import TODAY


def act(session, actor, subject, action, payload):
    event = workflow.apply(session, actor, subject, action, payload, today=TODAY)
    session.commit()
    return event


def counts(session) -> tuple[int, int]:
    return (
        session.execute(select(func.count(HistoryEvent.id))).scalar_one(),
        session.execute(
            select(func.count(BudgetLine.id)).where(BudgetLine.cancelled_at.is_(None))
        ).scalar_one(),
    )


def stored(rows) -> list[dict]:
    """The column values of ``rows`` (read back from the database after a rollback)."""
    return [
        {attr.key: getattr(row, attr.key) for attr in sa.inspect(row).mapper.column_attrs} for row in rows
    ]


def refused(session, actor, subject, action, payload, message):
    """``action`` is refused with ``message``, and neither the subject nor its lines changed."""
    rows = [subject, *subject.budget_lines]
    before, values = counts(session), stored(rows)
    with pytest.raises(WorkflowError, match=message):
        workflow.apply(session, actor, subject, action, payload, today=TODAY)
    session.rollback()
    assert counts(session) == before and stored(rows) == values


@pytest.fixture
def fund(make, session):
    row = WardFund(ward=make.ward("中央区"), fiscal_year=2024, allocated_yen=1_000_000)
    session.add(row)
    session.commit()
    return row


@pytest.fixture
def drawn(make, session, fund):
    """A request of 中央区 that drew 600千円 from the ward's fund of 2024, and its manager."""
    request, manager = make.request(), make.manager()
    payload = {"fiscal_year": 2024, "project_name": "カーブミラー修繕", "allocated_yen": 600_000}
    act(session, manager, request, "fund_from_ward", payload)
    return request, manager


@pytest.fixture
def budgeted(make):
    """A budgeted issue of 中央区 led by 環境局 (街灯整備事業, 2025, 2,000千円), with its people."""
    manager, staff = make.manager(), make.staff()
    return make.issue(IssueState.BUDGETED, manager=manager, staff=staff), manager, staff


# --- requests ------------------------------------------------------------------------------


def test_correcting_a_request_records_old_and_new_center_category_and_place(make, session):
    liaison = make.liaison()
    request = make.request(liaison, location_text="大江1丁目")
    other_center = Center(ward_id=request.ward_id, name="大江まちづくりセンター")
    session.add(other_center)
    session.commit()
    event = act(
        session,
        liaison,
        request,
        "correct_request",
        {
            "center": other_center.id,
            "category": request.category_id,
            "location_text": "大江2丁目",
            "comment": "誤記",
        },
    )
    assert request.center_id == other_center.id and request.location_text == "大江2丁目"
    changes = {c["field"]: (c["old"], c["new"]) for c in event.data["changes"]}
    assert changes["location_text"] == ("大江1丁目", "大江2丁目")
    assert changes["center"][1] == other_center.name and "category" not in changes
    assert event.comment == "誤記" and event.action == "correct_request"
    assert "訂正: " in event_details(event) and "場所: 大江1丁目 → 大江2丁目" in event_details(event)


def test_a_request_correction_is_refused_without_reason_change_or_scope(make, session):
    liaison = make.liaison()
    request = make.request(liaison, location_text="大江1丁目")
    same = {"center": request.center_id, "category": request.category_id, "location_text": "大江1丁目"}
    refused(session, liaison, request, "correct_request", same, "理由を入力してください")
    refused(
        session,
        liaison,
        request,
        "correct_request",
        {**same, "comment": "確認"},
        "変更された項目がありません",
    )
    moved = {**same, "location_text": "別の場所", "comment": "誤記"}
    refused(session, make.liaison("東区"), request, "correct_request", moved, "他の区の要望")
    refused(session, make.staff(), request, "correct_request", moved, "だけが行えます")
    east_center = make.ward("東区").centers[0]
    refused(
        session,
        liaison,
        request,
        "correct_request",
        {**moved, "center": east_center.id},
        "この要望の区のセンター",
    )


def test_correcting_an_answer_and_the_admin_may_too(make, session):
    liaison, admin = make.liaison(), make.admin()
    request = make.request(liaison, received_on=TODAY - dt.timedelta(days=5))
    answer = {"answer_kind": "resolved", "answer_text": "修理しました", "answered_on": TODAY}
    act(session, liaison, request, "answer", answer)
    payload = {**answer, "answer_text": "6月3日に修理しました", "answered_on": TODAY - dt.timedelta(days=1)}
    event = act(session, admin, request, "correct_answer", {**payload, "comment": "日付の誤り"})
    changes = {c["field"]: (c["old"], c["new"]) for c in event.data["changes"]}
    assert changes == {
        "answer_text": ("修理しました", "6月3日に修理しました"),
        "answered_on": (TODAY.isoformat(), (TODAY - dt.timedelta(days=1)).isoformat()),
    }
    assert request.state == RequestState.ANSWERED and request.answered_on == TODAY - dt.timedelta(days=1)
    refused(
        session,
        liaison,
        request,
        "correct_answer",
        {**payload, "comment": "再確認"},
        "変更された項目がありません",
    )
    future = {**payload, "answered_on": TODAY + dt.timedelta(days=1), "comment": "誤り"}
    refused(session, liaison, request, "correct_answer", future, "未来の日付")


def test_correcting_a_fund_draw_keeps_the_fund_from_going_negative(make, session, drawn):
    request, manager = drawn
    line = request.budget_lines[0]
    payload = {"budget_line": line.id, "allocated_yen": 1_000_001, "comment": "金額の誤り"}
    refused(session, manager, request, "correct_fund_draw", payload, r"残額 \(1,000千円\) を超えています")
    event = act(session, manager, request, "correct_fund_draw", {**payload, "allocated_yen": 1_000_000})
    assert event.data["changes"] == [{"field": "allocated_yen", "old": 600_000, "new": 1_000_000}]
    assert event.data["budget_line_id"] == line.id
    assert "充当額: 600千円 → 1,000千円" in event_details(event)
    assert funds.used_yen(session, request.ward_id, 2024) == 1_000_000
    unchanged = {"budget_line": line.id, "project_name": "", "comment": "確認"}
    refused(session, manager, request, "correct_fund_draw", unchanged, "変更された項目がありません")
    refused(session, make.liaison(), request, "correct_fund_draw", payload, "区役所 管理職")
    moved = {"budget_line": line.id, "fiscal_year": 2025, "comment": "年度の誤り"}
    refused(
        session,
        manager,
        request,
        "correct_fund_draw",
        moved,
        r"令和7年度 \(2025\)のまちづくり推進経費が設定されていません",
    )
    refused(session, make.manager("東区"), request, "correct_fund_draw", payload, "他の区の要望")


def test_cancelling_a_fund_draw_frees_the_fund_and_keeps_the_line(make, session, drawn):
    request, manager = drawn
    line = request.budget_lines[0]
    refused(session, manager, request, "cancel_fund_draw", {"budget_line": line.id}, "理由を入力してください")
    event = act(session, manager, request, "cancel_fund_draw", {"budget_line": line.id, "comment": "重複"})
    assert (
        line.cancelled_at is not None and line.cancelled_by_id == manager.id and line.cancel_reason == "重複"
    )
    assert event.data["changes"] == [{"field": "cancelled", "old": False, "new": True}]
    assert "状態: 有効 → 取消" in event_details(event)
    assert funds.used_yen(session, request.ward_id, 2024) == 0
    assert funds.fund_years(session, request.ward_id)[0].remaining_yen == 1_000_000
    again = {"budget_line": line.id, "comment": "重複"}
    refused(session, manager, request, "cancel_fund_draw", again, "取り消す充当を選んでください")


# --- ward issues ---------------------------------------------------------------------------


def test_correcting_the_texts_of_a_sent_issue(make, session):
    manager = make.manager()
    issue = make.issue(IssueState.CONSULTING, manager=manager)
    texts = {"title": "公園の街灯の更新", "situation": issue.situation, "proposal": issue.proposal}
    event = act(session, manager, issue, "correct_texts", {**texts, "comment": "件名の誤記"})
    assert event.data["changes"] == [
        {"field": "title", "old": "公園の街灯の老朽化", "new": "公園の街灯の更新"}
    ]
    assert issue.title == "公園の街灯の更新"
    refused(session, manager, issue, "correct_texts", {**texts, "title": "", "comment": "誤記"}, "件名を入力")
    refused(
        session,
        make.manager("東区"),
        issue,
        "correct_texts",
        {**texts, "title": "X", "comment": "誤"},
        "他の区",
    )
    draft = make.issue(IssueState.DRAFT, manager=manager)
    refused(session, manager, draft, "correct_texts", {**texts, "comment": "誤記"}, "「起案」の区重要課題")


def test_correcting_a_decision_by_the_lead_bureau_only(make, session):
    manager, staff = make.manager(), make.staff()
    issue = make.issue(IssueState.DECIDED, manager=manager, staff=staff)
    payload = {"decision_reason": "予算の範囲で対応する", "comment": "理由の補足"}
    refused(session, make.staff("消防局"), issue, "correct_decision", payload, "主管局の担当者だけ")
    refused(
        session, staff, issue, "correct_decision", {**payload, "next_review_on": TODAY}, "継続協議のときだけ"
    )
    event = act(session, staff, issue, "correct_decision", payload)
    assert event.data["changes"] == [
        {"field": "decision_reason", "old": "対応する", "new": "予算の範囲で対応する"}
    ]
    assert event.comment == "理由の補足"
    rejected = make.issue(IssueState.NOT_ADOPTED, manager=manager, staff=staff)
    blank = {"decision_reason": "", "comment": "消す"}
    refused(session, staff, rejected, "correct_decision", blank, "「対応しない」とする理由")


def test_correcting_a_budget_line_with_blank_meaning_unchanged(session, budgeted):
    issue, _manager, staff = budgeted
    line = issue.budget_lines[0]
    payload = {"budget_line": line.id, "fiscal_year": None, "project_name": "", "allocated_yen": 2_500_000}
    event = act(session, staff, issue, "correct_budget_line", {**payload, "comment": "内示額の反映"})
    assert event.data["changes"] == [{"field": "allocated_yen", "old": 2_000_000, "new": 2_500_000}]
    assert (line.fiscal_year, line.project_name, line.allocated_yen) == (2025, "街灯整備事業", 2_500_000)
    assert "予算額: 2,000千円 → 2,500千円" in event_details(event)
    executed = {"budget_line": line.id, "executed_yen": 1_000, "comment": "決算"}
    refused(session, staff, issue, "correct_budget_line", executed, "完了した区重要課題でだけ")


def test_cancelled_lines_count_nowhere_and_complete_ignores_them(make, session, budgeted):
    issue, _manager, staff = budgeted
    act(
        session,
        staff,
        issue,
        "add_budget_line",
        {"fiscal_year": 2025, "project_name": "追加分", "allocated_yen": 500_000},
    )
    first, second = issue.budget_lines
    act(session, staff, issue, "cancel_budget_line", {"budget_line": second.id, "comment": "二重登録"})
    assert [line.id for line in issue.current_budget_lines] == [first.id]
    act(session, staff, issue, "start", {})
    act(session, staff, issue, "complete", {"outcome": "設置した", "executed": {first.id: 1_900_000}})
    assert second.executed_yen is None and first.executed_yen == 1_900_000
    event = act(
        session,
        staff,
        issue,
        "correct_budget_line",
        {"budget_line": first.id, "executed_yen": 1_800_000, "comment": "精算"},
    )
    assert event.data["changes"] == [{"field": "executed_yen", "old": 1_900_000, "new": 1_800_000}]
    report = reports.fiscal_year_report(session, 2025)
    assert [(p.project_name, p.allocated_yen, p.executed_yen) for p in report.projects] == [
        ("街灯整備事業", 2_000_000, 1_800_000)
    ]
    again = {"budget_line": second.id, "comment": "再"}
    refused(session, make.admin(), issue, "cancel_budget_line", again, "取り消す予算を選んでください")


def test_the_fiscal_year_report_and_the_city_dashboard_follow_corrections(make, session, drawn):
    request, manager = drawn
    staff = make.staff()
    issue = make.issue(IssueState.DECIDED, manager=manager, staff=staff)
    act(
        session,
        staff,
        issue,
        "budget",
        {"fiscal_year": 2024, "project_name": "街灯LED化", "allocated_yen": 3_000_000},
    )
    act(
        session,
        staff,
        issue,
        "add_budget_line",
        {"fiscal_year": 2024, "project_name": "誤登録", "allocated_yen": 900_000},
    )
    good, wrong = issue.budget_lines

    def report_total() -> int:
        return reports.fiscal_year_report(session, 2024).total.allocated_yen

    def city():
        figures = dashboards.city_figures(session, 2024, TODAY)
        bureau = next(m for m in figures.budget_by_bureau if m.name == "環境局")
        fund = next(row for row in figures.ward_funds if row.ward == "中央区")
        return bureau.allocated_yen, fund.fund.used_yen

    assert report_total() == 3_900_000 and city() == (3_900_000, 600_000)
    act(
        session,
        staff,
        issue,
        "correct_budget_line",
        {"budget_line": good.id, "allocated_yen": 3_200_000, "comment": "訂正"},
    )
    act(session, staff, issue, "cancel_budget_line", {"budget_line": wrong.id, "comment": "誤登録"})
    line = request.budget_lines[0]
    act(
        session,
        manager,
        request,
        "correct_fund_draw",
        {"budget_line": line.id, "allocated_yen": 700_000, "comment": "訂正"},
    )
    assert report_total() == 3_200_000 and city() == (3_200_000, 700_000)
    projects = reports.fiscal_year_report(session, 2024).projects
    assert [(p.project_name, p.allocated_yen) for p in projects] == [("街灯LED化", 3_200_000)]
    act(session, manager, request, "cancel_fund_draw", {"budget_line": line.id, "comment": "取りやめ"})
    assert city() == (3_200_000, 0)


# --- pages ---------------------------------------------------------------------------------


def test_the_public_page_shows_only_current_values(make, session, client, budgeted):
    issue, manager, staff = budgeted
    act(
        session,
        staff,
        issue,
        "add_budget_line",
        {"fiscal_year": 2025, "project_name": "取り消す事業", "allocated_yen": 700_000},
    )
    first, second = issue.budget_lines
    act(
        session,
        staff,
        issue,
        "correct_budget_line",
        {"budget_line": first.id, "allocated_yen": 2_400_000, "comment": "増額"},
    )
    act(session, staff, issue, "cancel_budget_line", {"budget_line": second.id, "comment": "秘密の取消理由"})
    make.approved_publication(issue, manager)  # the first draft's budget: the current lines only
    page = client.get(f"/public/issues/{issue.id}").get_data(as_text=True)
    assert "2,400千円" in page and "2,000千円" not in page
    assert "取り消す事業" not in page and "秘密の取消理由" not in page and "700千円" not in page


def test_the_detail_page_strikes_a_cancelled_line_and_shows_the_correction(make, session, login_as, budgeted):
    issue, manager, staff = budgeted
    line = issue.budget_lines[0]
    act(session, staff, issue, "cancel_budget_line", {"budget_line": line.id, "comment": "二重登録のため"})
    page = login_as(manager).get(f"/issues/{issue.id}").get_data(as_text=True)
    assert "<s>街灯整備事業</s>" in page and "二重登録のため" in page and "状態: 有効 → 取消" in page


def test_the_admin_corrects_through_the_detail_page(make, session, login_as, budgeted):
    issue, _manager, _staff = budgeted
    line = issue.budget_lines[0]
    client = login_as(make.admin())
    page = client.get(f"/issues/{issue.id}").get_data(as_text=True)
    assert 'id="form-correct_budget_line"' in page and 'id="form-correct_texts"' in page
    box = page[page.index('name="correct_budget_line-allocated_yen"') :].split(">", 1)[0]
    assert "required" not in box  # blank keeps the amount: the browser must let it through
    form = {
        "correct_budget_line-version": str(issue.version),
        "correct_budget_line-budget_line_id": str(line.id),
        "correct_budget_line-fiscal_year": "0",
        "correct_budget_line-project_name": "",
        "correct_budget_line-allocated_yen": "2,100",
        "correct_budget_line-comment": "内示額",
    }
    response = client.post(f"/issues/{issue.id}/budget-lines/correct", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    session.refresh(line)
    assert (line.fiscal_year, line.allocated_yen) == (2025, 2_100_000)
    session.refresh(issue)
    blank = {**form, "correct_budget_line-version": str(issue.version), "correct_budget_line-comment": ""}
    blank["correct_budget_line-allocated_yen"] = "2,200"
    response = client.post(f"/issues/{issue.id}/budget-lines/correct", data=blank)
    assert response.status_code == 422 and "2,200" in response.get_data(as_text=True)
    session.refresh(line)
    assert line.allocated_yen == 2_100_000


def test_a_request_is_corrected_through_its_page_and_the_timeline_says_so(make, session, login_as, drawn):
    request, manager = drawn
    client = login_as(manager)
    page = client.get(f"/requests/{request.id}").get_data(as_text=True)
    assert 'id="form-correct_request"' in page and 'id="form-cancel_fund_draw"' in page
    bare = make.request()
    assert 'id="form-cancel_fund_draw"' not in client.get(f"/requests/{bare.id}").get_data(as_text=True)
    form = {
        "correct_request-version": str(request.version),
        "correct_request-center_id": str(request.center_id),
        "correct_request-category_id": str(request.category_id),
        "correct_request-location_text": "大江3丁目の交差点",
        "correct_request-comment": "場所の聞き違い",
    }
    response = client.post(f"/requests/{request.id}/correct", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(f"/requests/{request.id}").get_data(as_text=True)
    assert "場所: (なし) → 大江3丁目の交差点" in page and "場所の聞き違い" in page


def test_the_decision_form_shows_only_once_there_is_a_decision(make, login_as):
    staff = make.staff()
    consulting = make.issue(IssueState.CONSULTING, staff=staff)
    decided = make.issue(IssueState.DECIDED, staff=staff)
    client = login_as(staff)
    assert 'id="form-correct_decision"' not in client.get(f"/issues/{consulting.id}").get_data(as_text=True)
    assert 'id="form-correct_decision"' in client.get(f"/issues/{decided.id}").get_data(as_text=True)


def test_the_correction_and_its_event_share_one_transaction(make, session, budgeted):
    issue, _manager, staff = budgeted
    line = issue.budget_lines[0]
    before = counts(session)
    payload = {"budget_line": line.id, "allocated_yen": 2_300_000, "comment": "訂正"}
    event = workflow.apply(session, staff, issue, "correct_budget_line", payload, today=TODAY)
    assert event.id is not None and line.allocated_yen == 2_300_000  # flushed, not committed
    session.rollback()
    assert counts(session) == before and line.allocated_yen == 2_000_000
