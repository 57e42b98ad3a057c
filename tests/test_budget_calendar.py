"""予算編成スケジュール: the admin sets the city's budget dates; dashboards and the daily digest
list the issues that miss next year's budget unless they move by the next date.

The calendar of 令和7年度 (2025): issues sent by 2024-10-31, results by 2024-12-13, budget
decided on 2025-02-05. In 中央区 (lead 環境局) there are a draft, an issue awaiting approval, a
registered one, one in consultation, one continued (継続協議), one with a question to the ward
(照会中) and a decided one; in 東区 (lead 消防局) a draft and one in consultation.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from tracker import workflow
from tracker.background import reminders
from tracker.effects import budget_calendar
from tracker.formatting import fiscal_year_of, today_in_tokyo
from tracker.monitoring_models import BudgetCalendar
from tracker.ops_models import Notification
from tracker.safeguards import admin_log
from tracker.states import IssueState

from .factories import TODAY

SEND_BY, RESULTS_BY, DECIDED_ON = dt.date(2024, 10, 31), dt.date(2024, 12, 13), dt.date(2025, 2, 5)
PAGE = "/admin/budget-calendar/"


def _calendar(session, year=2025, send_by=SEND_BY, results_by=RESULTS_BY, decided_on=DECIDED_ON):
    calendar = BudgetCalendar(budget_year=year, send_by=send_by, results_by=results_by, decided_on=decided_on)
    session.add(calendar)
    session.commit()
    return calendar


@pytest.fixture
def world(make, session):
    chuo, chuo_2 = make.manager("中央区"), make.second_manager("中央区")
    higashi, higashi_2 = make.manager("東区"), make.second_manager("東区")
    env, fire = make.staff("環境局"), make.staff("消防局")

    def issue(state, ward="中央区"):
        people = {"manager": chuo, "approver": chuo_2, "staff": env, "lead": "環境局"}
        if ward == "東区":
            people = {"manager": higashi, "approver": higashi_2, "staff": fire, "lead": "消防局"}
        return make.issue(state, ward=ward, **people)

    chuo_issues = {
        "draft": issue(IssueState.DRAFT),
        "awaiting": issue(IssueState.AWAITING_APPROVAL),
        "registered": issue(IssueState.REGISTERED),
        "consulting": issue(IssueState.CONSULTING),
        "continued": issue(IssueState.CONSULTING),
        "inquiring": issue(IssueState.INQUIRING),
        "decided": issue(IssueState.DECIDED),
    }
    continued = {"decision": "continue", "next_review_on": dt.date(2024, 7, 1)}
    workflow.apply(session, env, chuo_issues["continued"], "decide", continued, today=TODAY)
    higashi_issues = {
        "draft": issue(IssueState.DRAFT, "東区"),
        "consulting": issue(IssueState.CONSULTING, "東区"),
    }
    session.commit()
    _calendar(session)
    return {"chuo": chuo, "higashi": higashi, "env": env, "fire": fire, "c": chuo_issues, "h": higashi_issues}


def _listed(outlook) -> list[tuple[int, str, dt.date, int]]:
    return [(item.issue.id, item.step, item.due_on, item.days_left) for item in outlook.items]


# --- the issues at risk, per role and per date --------------------------------------------------


def test_before_send_by_the_unsent_issues_must_be_sent_and_the_consultations_answered(world, session):
    day, c = dt.date(2024, 10, 1), world["c"]
    send = [(c[k].id, "局へ送付", SEND_BY, 30) for k in ("draft", "awaiting", "registered")]
    answer = [(c[k].id, "協議結果の登録", RESULTS_BY, 73) for k in ("consulting", "continued", "inquiring")]
    ward = budget_calendar.at_risk(session, day, ward_id=world["chuo"].ward_id)
    assert ward.calendar.budget_year == 2025
    assert _listed(ward) == send + answer
    assert ward.total == 6
    # the lead bureau hears of the consultations only: drafts are not sent to it yet
    assert _listed(budget_calendar.at_risk(session, day, bureau_id=world["env"].bureau_id)) == answer
    h = world["h"]
    assert _listed(budget_calendar.at_risk(session, day, bureau_id=world["fire"].bureau_id)) == [
        (h["consulting"].id, "協議結果の登録", RESULTS_BY, 73)
    ]
    assert budget_calendar.at_risk(session, day).total == 8


def test_on_send_by_itself_sending_is_still_in_time(world, session):
    outlook = budget_calendar.at_risk(session, SEND_BY, ward_id=world["higashi"].ward_id)
    assert _listed(outlook) == [
        (world["h"]["draft"].id, "局へ送付", SEND_BY, 0),
        (world["h"]["consulting"].id, "協議結果の登録", RESULTS_BY, 43),
    ]


def test_between_send_by_and_results_by_only_the_consultations_are_at_risk(world, session):
    day, c = dt.date(2024, 11, 15), world["c"]
    answer = [(c[k].id, "協議結果の登録", RESULTS_BY, 28) for k in ("consulting", "continued", "inquiring")]
    assert _listed(budget_calendar.at_risk(session, day, ward_id=world["chuo"].ward_id)) == answer
    assert _listed(budget_calendar.at_risk(session, day, bureau_id=world["env"].bureau_id)) == answer


def test_after_results_by_nothing_is_listed_and_after_decided_on_there_is_no_calendar(world, session):
    outlook = budget_calendar.at_risk(session, dt.date(2025, 1, 10), ward_id=world["chuo"].ward_id)
    assert outlook.calendar.budget_year == 2025 and outlook.items == [] and outlook.total == 0
    assert budget_calendar.at_risk(session, dt.date(2025, 2, 6)) is None


def test_the_nearest_budget_year_with_a_date_ahead_is_the_next_calendar(world, session):
    _calendar(session, 2026, dt.date(2025, 10, 31), dt.date(2025, 12, 12), dt.date(2026, 2, 4))
    assert budget_calendar.next_calendar(session, dt.date(2025, 2, 5)).budget_year == 2025
    assert budget_calendar.next_calendar(session, dt.date(2025, 2, 6)).budget_year == 2026


def test_the_list_costs_the_same_queries_whatever_the_number_of_issues(world, make, session, count_queries):
    day, ward_id = dt.date(2024, 10, 1), world["chuo"].ward_id

    def cost():
        session.expire_all()
        count_queries.clear()
        outlook = budget_calendar.at_risk(session, day, ward_id=ward_id, limit=4)
        names = [(item.issue.ward.name, item.issue.lead_bureau.name) for item in outlook.items]
        selects = [statement for statement in count_queries if statement.startswith("SELECT")]
        return len(selects), len(names), outlook.total

    assert cost() == (3, 4, 6)
    for _ in range(3):
        make.issue(IssueState.DRAFT, manager=world["chuo"])
    session.commit()
    assert cost() == (3, 4, 9)


# --- the dashboards ------------------------------------------------------------------------


def _calendar_around_today(session) -> BudgetCalendar:
    """A calendar whose send_by is 10 days from today (the dashboards use the real today)."""
    today = today_in_tokyo()
    year = fiscal_year_of(today) + 2
    days = dt.timedelta
    return _calendar(session, year, today + days(10), today + days(40), today + days(60))


def test_the_ward_manager_and_the_bureau_see_their_issues_at_risk(world, session, login_as):
    calendar = _calendar_around_today(session)
    c, h = world["c"], world["h"]
    page = login_as(world["chuo"]).get("/dashboard/").get_data(as_text=True)
    assert "来年度予算に間に合わせるための期限が来る区重要課題" in page
    assert f"{calendar.send_by.year}年{calendar.send_by.month}月{calendar.send_by.day}日" in page
    for key in ("draft", "awaiting", "registered", "consulting", "continued", "inquiring"):
        assert c[key].reference in page
    assert c["decided"].reference not in page and h["draft"].reference not in page
    assert "局へ送付" in page and "協議結果の登録" in page and "あと10日" in page and "あと40日" in page

    page = login_as(world["env"]).get("/dashboard/").get_data(as_text=True)
    assert c["consulting"].reference in page and c["inquiring"].reference in page
    assert c["draft"].reference not in page and h["consulting"].reference not in page
    assert "あと40日" in page and "あと10日" not in page


def test_the_dashboards_run_the_same_queries_whatever_the_number_of_issues_at_risk(
    world, make, session, login_as, count_queries
):
    _calendar_around_today(session)

    def cost(user) -> int:
        client = login_as(user)
        count_queries.clear()
        assert client.get("/dashboard/").status_code == 200
        return len([sql for sql in count_queries if not sql.startswith(("SAVEPOINT", "RELEASE"))])

    before = {who: cost(world[who]) for who in ("chuo", "env")}
    for _ in range(3):
        make.issue(IssueState.DRAFT, manager=world["chuo"])
        make.issue(IssueState.CONSULTING, manager=world["chuo"], staff=world["env"])
    session.commit()
    assert {who: cost(world[who]) for who in ("chuo", "env")} == before


def test_without_a_calendar_ahead_the_dashboard_says_so(make, login_as):
    page = login_as(make.manager()).get("/dashboard/").get_data(as_text=True)
    assert "期限が先にある予算編成スケジュールはまだ設定されていません。" in page


# --- the daily digest ----------------------------------------------------------------------


def _digest_of(session, user) -> Notification:
    return session.scalars(
        select(Notification).where(Notification.user_id == user.id, Notification.kind == "reminder.digest")
    ).one()


def test_the_digest_lists_the_issues_at_risk_for_the_ward_and_the_lead_bureau(world, make, session):
    day, c = dt.date(2024, 11, 15), world["c"]
    nishi = make.manager("西区")
    session.commit()
    reminders.send_reminders(session, day)

    chuo = _digest_of(session, world["chuo"])
    assert chuo.title.startswith("期限超過のお知らせ")  # a review date of 2024-07-01 has passed
    assert "予算編成の期限が迫る区重要課題 3件" in chuo.title
    assert "令和7年度 (2025)予算に間に合わせるための期限が来る区重要課題" in chuo.body
    assert (
        f"・{c['consulting'].reference} " in chuo.body
        and "協議結果の登録の期限 2024年12月13日、あと28日" in chuo.body
    )
    assert c["draft"].reference not in chuo.body  # too late to be sent for this budget
    assert "熊本 太郎" not in chuo.body and "096-000-0000" not in chuo.body

    env = _digest_of(session, world["env"])
    assert "予算編成の期限が迫る区重要課題 3件" in env.title
    fire = _digest_of(session, world["fire"])
    assert fire.title == "予算編成スケジュールのお知らせ: 予算編成の期限が迫る区重要課題 1件"
    assert world["h"]["consulting"].reference in fire.body
    assert session.scalars(select(Notification).where(Notification.user_id == nishi.id)).all() == []


def test_before_send_by_the_digest_asks_for_the_drafts_to_be_sent(world, session):
    reminders.send_reminders(session, dt.date(2024, 6, 20))
    body = _digest_of(session, world["higashi"]).body
    assert f"・{world['h']['draft'].reference} " in body
    assert "局へ送付の期限 2024年10月31日、あと133日" in body


# --- the admin's page ----------------------------------------------------------------------


def _year() -> int:
    return fiscal_year_of(today_in_tokyo()) + 1


def _form(year: int, send_by: str, results_by: str, decided_on: str) -> dict[str, str]:
    return {"budget_year": str(year), "send_by": send_by, "results_by": results_by, "decided_on": decided_on}


def test_the_admin_adds_and_changes_a_calendar_with_old_and_new_in_the_change_log(make, session, login_as):
    admin, year = make.admin(), _year()
    client = login_as(admin)
    assert "予算編成スケジュールはまだありません" in client.get(PAGE).get_data(as_text=True)
    form = _form(year, f"{year - 1}/10/31", f"令和{year - 2019}年12月15日", f"{year}-02-05")
    response = client.post(PAGE, data=form)
    assert response.status_code == 302
    session.expire_all()
    saved = session.get(BudgetCalendar, year)
    assert (saved.send_by, saved.results_by, saved.decided_on) == (
        dt.date(year - 1, 10, 31),
        dt.date(year - 1, 12, 15),
        dt.date(year, 2, 5),
    )
    assert saved.updated_by_id == admin.id
    logged = session.scalars(admin_log.action_events(admin_log.ACTION)).first()
    assert logged.actor_id == admin.id and "予算編成スケジュールを追加しました。" in logged.comment
    [change] = logged.data["changes"]
    assert change["table"] == "budget_calendars" and change["id"] == year and change["new"] is True
    assert change["fields"]["send_by"] == [None, f"{year - 1}-10-31"]

    response = client.post(PAGE, data={**form, "results_by": f"{year - 1}/12/20"})
    assert response.status_code == 302
    logged = session.scalars(admin_log.action_events(admin_log.ACTION)).first()
    assert "予算編成スケジュールを変更しました。" in logged.comment
    [change] = logged.data["changes"]
    assert change["new"] is False
    assert change["fields"] == {"results_by": [f"{year - 1}-12-15", f"{year - 1}-12-20"]}
    page = client.get(PAGE, query_string={"year": year}).get_data(as_text=True)
    assert f'value="{year - 1}/12/20"' in page
    assert "予算編成スケジュール #" in client.get("/admin/audit/changes").get_data(as_text=True)


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        (
            "results_by",
            "{y0}/10/1",
            "協議結果の期限は局への送付期限と同じ日か、それより後の日付にしてください。",
        ),
        (
            "decided_on",
            "{y0}/12/1",
            "予算の決定日は協議結果の期限と同じ日か、それより後の日付にしてください。",
        ),
        ("decided_on", "{y1}/4/1", "予算の決定日は令和"),
        ("send_by", "十月", "日付"),
        ("send_by", "", "入力してください。"),
    ],
)
def test_a_wrong_date_is_refused_next_to_its_field_as_typed_and_nothing_changes(
    make, session, login_as, field, typed, message
):
    admin, year = make.admin(), _year()
    _calendar(session, year, dt.date(year - 1, 10, 31), dt.date(year - 1, 12, 15), dt.date(year, 2, 5))
    client = login_as(admin)
    typed = typed.format(y0=year - 1, y1=year)
    form = {**_form(year, f"{year - 1}/10/20", f"{year - 1}/12/10", f"{year}/2/1"), field: typed}
    response = client.post(PAGE, data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page and f'value="{typed}"' in page
    start = page.index(f'id="{field}"')
    assert message in page[start : page.index("</div>", start)]
    session.expire_all()
    kept = session.get(BudgetCalendar, year)
    assert (kept.send_by, kept.results_by, kept.decided_on) == (
        dt.date(year - 1, 10, 31),
        dt.date(year - 1, 12, 15),
        dt.date(year, 2, 5),
    )
    assert session.scalars(admin_log.action_events(admin_log.ACTION)).all() == []


def test_the_rules_refuse_dates_from_the_budget_year_on(world):
    dates = {
        "send_by": dt.date(2025, 4, 1),
        "results_by": dt.date(2025, 4, 2),
        "decided_on": dt.date(2025, 4, 3),
    }
    found = budget_calendar.problems(2025, dates)
    assert (
        found["send_by"]
        == "局への送付期限は令和7年度 (2025)が始まる前 (2025年3月31日まで) の日付にしてください。"
    )
    assert set(found) == {"send_by", "results_by", "decided_on"}
    assert budget_calendar.problems(2025, {**dates, "send_by": dt.date(2025, 3, 31)})["results_by"]
    assert budget_calendar.problems(None, dates) == {"budget_year": "予算の年度を選んでください。"}


@pytest.mark.parametrize("role", ["manager", "staff", "liaison"])
def test_only_the_admin_may_set_the_calendar(make, session, login_as, role):
    client = login_as(getattr(make, role)())
    year = _year()
    assert client.get(PAGE).status_code == 403
    response = client.post(PAGE, data=_form(year, f"{year - 1}/10/31", f"{year - 1}/12/15", f"{year}/2/5"))
    assert response.status_code == 403
    assert session.scalars(select(BudgetCalendar)).all() == []
