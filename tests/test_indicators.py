"""指標: each computed metric against hand-computed figures, and the writes of definitions,
targets and entered values with their history (old and new), refusals changing nothing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tracker import workflow
from tracker.city import indicator_defaults
from tracker.effects import indicators as writes
from tracker.models import BudgetLine, HistoryEvent, WardFund
from tracker.monitoring_models import Indicator, IndicatorTarget, IndicatorValue
from tracker.reporting import indicator_tables as tables
from tracker.reporting import indicators as metrics
from tracker.states import IndicatorKind, IssueState

from .factories import TODAY

D = Decimal


def ward_ids(make) -> dict[str, int]:
    return {name: make.ward(name).id for name in ("中央区", "東区", "西区", "南区", "北区")}


def values_of(session, make, metric: str, first=2023, last=2025):
    wards = ward_ids(make)
    found = metrics.compute(session, metric, first, last, list(wards.values()))
    return {
        (name, year): found[(wid, year)]
        for name, wid in [*wards.items(), ("市", None)]
        for year in range(first, last + 1)
    }


def answered(make, session, liaison, received: dt.date, on: dt.date):
    request = make.request(liaison, received_on=received)
    reply = {"answer_kind": "resolved", "answer_text": "対応しました", "answered_on": on}
    workflow.apply(session, liaison, request, "answer", reply, today=TODAY)
    session.commit()
    return request


# --- computed metrics -------------------------------------------------------------------------


def test_activities_per_liaison_divides_the_years_activities_by_the_wards_active_liaisons(make, session):
    first, second = make.liaison("北区"), make.liaison("北区")
    make.liaison("北区", active=False)  # not counted
    for _ in range(3):
        make.activity(first)
    make.activity(second, held_on=dt.date(2024, 3, 10))  # fiscal year 2023
    found = values_of(session, make, "activities_per_liaison")
    assert found[("北区", 2024)] == D("1.50")  # 3 activities ÷ 2 liaisons
    assert found[("北区", 2023)] == D("0.50")
    assert found[("北区", 2025)] == D("0.00")
    assert found[("中央区", 2024)] is None  # no liaison to divide by
    assert found[("市", 2024)] == D("1.50")


@pytest.fixture
def answers(make, session):
    chuo, higashi = make.liaison("中央区"), make.liaison("東区")
    answered(make, session, chuo, dt.date(2024, 5, 1), dt.date(2024, 5, 10))  # 9 days, on time
    answered(make, session, chuo, dt.date(2024, 5, 1), dt.date(2024, 5, 20))  # 19 days, late
    answered(make, session, chuo, dt.date(2024, 5, 1), dt.date(2024, 6, 1))  # 31 days, late
    # Received in fiscal 2023, answered in fiscal 2024 (11 days, due 2024-04-08): counts in 2024.
    answered(make, session, chuo, dt.date(2024, 3, 25), dt.date(2024, 4, 5))
    answered(make, session, chuo, dt.date(2024, 3, 1), dt.date(2024, 3, 10))  # fiscal 2023, 9 days
    answered(make, session, higashi, dt.date(2024, 5, 1), dt.date(2024, 5, 5))  # 4 days, on time
    make.request(chuo, received_on=dt.date(2024, 4, 1))  # still open, overdue: in neither


def test_answered_on_time_rate_counts_the_answers_given_in_the_year(make, session, answers):
    found = values_of(session, make, "answered_on_time_rate")
    assert found[("中央区", 2024)] == D("50.00")  # 2 of 4
    assert found[("中央区", 2023)] == D("100.00")
    assert found[("東区", 2024)] == D("100.00")
    assert found[("市", 2024)] == D("60.00")  # 3 of 5
    assert found[("西区", 2024)] is None and found[("中央区", 2025)] is None


def test_median_days_to_answer(make, session, answers):
    found = values_of(session, make, "median_days_to_answer")
    assert found[("中央区", 2024)] == D("15.00")  # 9, 11, 19, 31
    assert found[("中央区", 2023)] == D("9.00")
    assert found[("東区", 2024)] == D("4.00")
    assert found[("市", 2024)] == D("11.00")  # 4, 9, 11, 19, 31
    assert found[("北区", 2024)] is None


@pytest.fixture
def issues(make, session):
    """中央区: one issue in each state that matters, one budget line cancelled; 東区: one decided."""
    admin = make.admin()
    for state in (
        IssueState.DRAFT,
        IssueState.CONSULTING,
        IssueState.DECIDED,
        IssueState.NOT_ADOPTED,
        IssueState.BUDGETED,
        IssueState.COMPLETED,
    ):
        make.issue(state)
    cancelled = make.issue(IssueState.BUDGETED)
    line = cancelled.budget_lines[0]
    payload = {"budget_line": line.id, "comment": "事業の見直し"}
    workflow.apply(session, admin, cancelled, "cancel_budget_line", payload, today=TODAY)
    session.commit()
    make.issue(IssueState.DECIDED, ward="東区", lead="消防局")


def test_issue_counts_sent_adopted_and_budgeted(make, session, issues):
    sent = values_of(session, make, "issues_sent")
    adopted = values_of(session, make, "issues_adopted")
    budgeted = values_of(session, make, "issues_budgeted")
    assert (sent[("中央区", 2024)], adopted[("中央区", 2024)], budgeted[("中央区", 2024)]) == (6, 4, 2)
    assert (sent[("東区", 2024)], adopted[("東区", 2024)], budgeted[("東区", 2024)]) == (1, 1, 0)
    assert (sent[("市", 2024)], adopted[("市", 2024)], budgeted[("市", 2024)]) == (7, 5, 2)
    assert sent[("西区", 2024)] == 0 and sent[("中央区", 2023)] == 0


def test_budget_execution_rate_leaves_the_cancelled_line_out(make, session, issues):
    found = values_of(session, make, "budget_execution_rate")
    # 2025 lines of 中央区: 2,000,000 not executed, 2,000,000 executed, 2,000,000 cancelled (out).
    assert found[("中央区", 2025)] == D("50.00")
    assert found[("市", 2025)] == D("50.00")
    assert found[("東区", 2025)] is None and found[("中央区", 2024)] is None


def test_ward_fund_use_rate(make, session):
    manager = make.manager("中央区")
    session.add_all(
        [
            WardFund(ward=make.ward("中央区"), fiscal_year=2024, allocated_yen=1_000_000),
            WardFund(ward=make.ward("東区"), fiscal_year=2024, allocated_yen=500_000),
        ]
    )
    session.commit()
    for amount in (300_000, 200_000):
        request = make.request()
        payload = {"fiscal_year": 2024, "project_name": "カーブミラー修繕", "allocated_yen": amount}
        workflow.apply(session, manager, request, "fund_from_ward", payload, today=TODAY)
    line = session.scalars(select(BudgetLine).where(BudgetLine.allocated_yen == 200_000)).one()
    cancel = {"budget_line": line.id, "comment": "重複"}
    workflow.apply(session, manager, request, "cancel_fund_draw", cancel, today=TODAY)
    session.commit()
    found = values_of(session, make, "ward_fund_use_rate")
    assert found[("中央区", 2024)] == D("30.00")
    assert found[("東区", 2024)] == D("0.00")
    assert found[("市", 2024)] == D("20.00")  # 300,000 of 1,500,000
    assert found[("西区", 2024)] is None


def test_each_metric_is_one_query_whatever_the_range(make, session, count_queries):
    wards = list(ward_ids(make).values())
    for key in metrics.METRICS:
        count_queries.clear()
        metrics.compute(session, key, 2015, 2025, wards)
        assert (
            len([sql for sql in count_queries if sql.lstrip().upper().startswith(("SELECT", "WITH"))]) == 1
        ), key


# --- defaults ----------------------------------------------------------------------------------


def test_default_indicators_are_loaded_once(session):
    before = session.scalar(select(func.count(Indicator.id)))
    indicator_defaults.load_default_indicators(session)
    assert session.scalar(select(func.count(Indicator.id))) == before == len(metrics.METRICS) + 2
    computed = session.scalars(select(Indicator.metric).where(Indicator.kind == IndicatorKind.COMPUTED)).all()
    assert sorted(computed) == sorted(metrics.METRICS)


def test_demo_targets_and_values_are_set_once_with_their_history(make, session):
    make.admin()
    assert indicator_defaults.load_demo_indicators(session, TODAY) > 0
    assert indicator_defaults.load_demo_indicators(session, TODAY) == 0
    assert session.scalar(select(func.count(IndicatorValue.id))) > 0
    assert (
        session.scalar(select(func.count(HistoryEvent.id)).where(HistoryEvent.indicator_id.is_not(None))) > 0
    )


# --- writes ------------------------------------------------------------------------------------


def events_of(session, indicator):
    return session.scalars(
        select(HistoryEvent).where(HistoryEvent.indicator_id == indicator.id).order_by(HistoryEvent.id)
    ).all()


def test_setting_then_changing_a_target_records_old_and_new(make, session):
    admin, indicator, ward = make.admin(), make.indicator(), make.ward("中央区")
    writes.set_target(session, admin, indicator, ward.id, 2024, "70")
    writes.set_target(session, admin, indicator, str(ward.id), "2024", "７５．５")
    row = session.scalars(select(IndicatorTarget).filter_by(indicator_id=indicator.id, ward_id=ward.id)).one()
    assert row.target == D("75.50")
    first, second = events_of(session, indicator)
    assert (first.action, first.data["old"], first.data["new"]) == ("set_target", None, "70.00")
    assert second.data == {"ward_id": ward.id, "fiscal_year": 2024, "old": "70.00", "new": "75.50"}
    assert second.actor_id == admin.id


def test_entering_and_correcting_a_value_records_value_source_and_date(make, session):
    manager, indicator = make.manager("東区"), make.indicator()
    ward = make.ward("東区")
    writes.enter_value(session, manager, indicator, ward.id, 2024, "62.5", "アンケート", dt.date(2025, 1, 31))
    writes.enter_value(
        session, manager, indicator, ward.id, 2024, "63", "アンケート (確定値)", dt.date(2025, 2, 10)
    )
    row = session.scalars(select(IndicatorValue).filter_by(indicator_id=indicator.id)).one()
    assert (row.value, row.source, row.entered_by_id) == (D("63.00"), "アンケート (確定値)", manager.id)
    corrected = events_of(session, indicator)[-1]
    assert corrected.action == "enter_value"
    assert (corrected.data["old"], corrected.data["new"]) == ("62.50", "63.00")
    assert (corrected.data["old_source"], corrected.data["new_source"]) == (
        "アンケート",
        "アンケート (確定値)",
    )
    assert corrected.data["old_measured_on"] == "2025-01-31"


def snapshot(session):
    return (
        session.scalar(select(func.count(IndicatorTarget.id))),
        session.scalar(select(func.count(IndicatorValue.id))),
        session.scalar(select(func.count(HistoryEvent.id))),
        sorted(session.execute(select(Indicator.code, Indicator.name, Indicator.active)).all()),
    )


@pytest.mark.parametrize(
    ("who", "call", "error", "field_or_text"),
    [
        (
            "admin",
            lambda s, a, i, w: writes.set_target(s, a, i, w, 2024, "abc"),
            writes.IndicatorInputError,
            "target",
        ),
        (
            "admin",
            lambda s, a, i, w: writes.set_target(s, a, i, w, 2024, "1.234"),
            writes.IndicatorInputError,
            "target",
        ),
        (
            "admin",
            lambda s, a, i, w: writes.set_target(s, a, i, 999999, 2024, "1"),
            writes.IndicatorInputError,
            "ward_id",
        ),
        (
            "admin",
            lambda s, a, i, w: writes.set_target(s, a, i, w, "19xx", "1"),
            writes.IndicatorInputError,
            "fiscal_year",
        ),
        (
            "manager",
            lambda s, a, i, w: writes.set_target(s, a, i, w, 2024, "1"),
            writes.IndicatorDenied,
            "権限",
        ),
        (
            "other_manager",
            lambda s, a, i, w: writes.enter_value(s, a, i, w, 2024, "1", "調査", TODAY),
            writes.IndicatorDenied,
            "権限",
        ),
        (
            "manager",
            lambda s, a, i, w: writes.enter_value(s, a, i, None, 2024, "1", "調査", TODAY),
            writes.IndicatorDenied,
            "権限",
        ),
        (
            "liaison",
            lambda s, a, i, w: writes.enter_value(s, a, i, w, 2024, "1", "調査", TODAY),
            writes.IndicatorDenied,
            "権限",
        ),
        (
            "admin",
            lambda s, a, i, w: writes.enter_value(s, a, i, w, 2024, "1", " ", TODAY),
            writes.IndicatorInputError,
            "source",
        ),
        (
            "admin",
            lambda s, a, i, w: writes.enter_value(s, a, i, w, 2024, "NaN", "調査", TODAY),
            writes.IndicatorInputError,
            "value",
        ),
        (
            "admin",
            lambda s, a, i, w: writes.enter_value(s, a, i, w, 2024, "1", "調査", "昨日"),
            writes.IndicatorInputError,
            "measured_on",
        ),
    ],
)
def test_refusals_name_their_field_and_change_nothing(make, session, who, call, error, field_or_text):
    actors = {
        "admin": make.admin,
        "manager": lambda: make.manager("中央区"),
        "other_manager": lambda: make.manager("東区"),
        "liaison": lambda: make.liaison("中央区"),
    }
    actor, indicator, ward = actors[who](), make.indicator(), make.ward("中央区")
    before = snapshot(session)
    with pytest.raises(error) as raised:
        call(session, actor, indicator, ward.id)
    if error is writes.IndicatorInputError:
        assert raised.value.field == field_or_text
        assert writes.FIELD_LABELS[field_or_text] in raised.value.message or "年度" in raised.value.message
    else:
        assert field_or_text in raised.value.message
    session.rollback()
    assert snapshot(session) == before


def test_an_unchanged_save_is_refused_in_japanese(make, session):
    admin, indicator, ward = make.admin(), make.indicator(), make.ward("中央区")
    writes.set_target(session, admin, indicator, ward.id, 2024, "70")
    writes.enter_value(session, admin, indicator, ward.id, 2024, "60", "調査", TODAY)
    session.commit()
    before = snapshot(session)
    with pytest.raises(writes.IndicatorInputError, match="同じ"):
        writes.set_target(session, admin, indicator, ward.id, 2024, "70.00")
    with pytest.raises(writes.IndicatorInputError, match="同じ"):
        writes.enter_value(session, admin, indicator, ward.id, 2024, "60", "調査", TODAY)
    with pytest.raises(writes.IndicatorInputError, match="変更された項目"):
        fields = {name: getattr(indicator, name) for name in writes.DEFINITION_FIELDS}
        writes.edit_indicator(session, admin, indicator, fields, metric_keys=metrics.METRICS)
    assert snapshot(session) == before


def test_a_computed_indicator_takes_no_entered_value(make, session):
    admin, indicator = make.admin(), make.indicator("issues_sent")
    with pytest.raises(writes.IndicatorInputError, match="算出"):
        writes.enter_value(session, admin, indicator, None, 2024, "3", "調査", TODAY)


def test_defining_and_editing_an_indicator_is_recorded(make, session):
    admin = make.admin()
    fields = {
        "code": "volunteers",
        "name": "ボランティア登録者数",
        "kind": "entered",
        "unit": "人",
        "higher_is_better": True,
    }
    indicator = writes.define_indicator(session, admin, fields, metric_keys=metrics.METRICS)
    writes.edit_indicator(
        session,
        admin,
        indicator,
        {**fields, "name": "ボランティア登録者数 (人)"},
        metric_keys=metrics.METRICS,
    )
    defined, edited = events_of(session, indicator)
    assert defined.action == "define_indicator" and defined.data["new"]["code"] == "volunteers"
    assert edited.data == {
        "old": {"name": "ボランティア登録者数"},
        "new": {"name": "ボランティア登録者数 (人)"},
    }
    with pytest.raises(writes.IndicatorInputError) as taken:
        writes.define_indicator(session, admin, fields, metric_keys=metrics.METRICS)
    assert taken.value.field == "code"
    with pytest.raises(writes.IndicatorInputError) as unknown:
        writes.define_indicator(
            session,
            admin,
            {**fields, "code": "x", "kind": "computed", "metric": "nope"},
            metric_keys=metrics.METRICS,
        )
    assert unknown.value.field == "metric"


# --- the tables ---------------------------------------------------------------------------------


def test_cells_say_met_not_met_no_target_and_no_actual():
    assert tables.Cell(2024, D("80"), D("70"), True).status == tables.MET
    assert tables.Cell(2024, D("60"), D("70"), True).status == tables.NOT_MET
    assert tables.Cell(2024, D("10"), D("14"), False).status == tables.MET
    assert tables.Cell(2024, D("20"), D("14"), False).status == tables.NOT_MET
    assert tables.Cell(2024, D("20"), None, True).status == tables.NO_TARGET
    assert tables.Cell(2024, None, D("14"), True).status == tables.NO_ACTUAL


def test_the_range_defaults_to_the_last_three_fiscal_years():
    assert tables.parse_range({}, dt.date(2025, 2, 1)) == (2022, 2024)
    assert tables.parse_range({"from": "2025", "to": "2020"}, TODAY) == (2020, 2025)
    assert tables.parse_range({"from": "20x5"}, TODAY) == (2022, 2024)


def test_the_chart_marks_each_target_and_says_when_there_is_no_actual():
    from tracker.reporting.charts import Chart, Series
    from tracker.reporting.indicator_charts import bars_with_targets

    chart = Chart("sat", "住民満足度", ["2023年度", "2024年度"], [Series("中央区", [60.0, None])], unit="%")
    svg = str(bars_with_targets(chart, [[70.0, None]]))
    assert svg.count('class="target-mark"') == 2  # the legend's and the one target
    assert "<title>2023年度 中央区 目標: 70.0%</title>" in svg
    assert "<title>2024年度 中央区: —</title>" in svg
    assert "目標 (線)" in svg
