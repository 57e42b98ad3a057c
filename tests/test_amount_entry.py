"""Entering amounts, dates and fiscal years as the city writes them, and plain error messages."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange

from tracker.blueprints.fields import AmountField, FiscalYearField, JapaneseDateField
from tracker.blueprints.form_messages import STOCK, Form
from tracker.formatting import fiscal_year_of, today_in_tokyo
from tracker.models import HistoryEvent
from tracker.states import IssueState


class AmountForm(Form):
    class Meta:
        csrf = False

    budget = AmountField("予算額")
    executed = AmountField("決算額", allow_zero=True)
    day = JapaneseDateField("回答日")
    year = FiscalYearField("年度")
    count = IntegerField("人口")
    share = IntegerField("割合", validators=[NumberRange(0, 100)])
    name = StringField("名称", validators=[Length(max=3)])
    kind = SelectField("種類", choices=[SelectChoice("a", "A")])


def filled(app, **values) -> AmountForm:
    with app.test_request_context("/", method="POST"):
        form = AmountForm(formdata=MultiDict(values))
        form.year.offer(range(2024, 2030), default=2026)
        form.validate()
        return form


@pytest.mark.parametrize(
    ("typed", "unit", "yen"),
    [
        ("2,000", None, 2_000_000),
        ("２，０００", None, 2_000_000),
        ("2000千円", "yen", 2_000_000),
        ("2,000,000円", "thousand", 2_000_000),
        ("2,000", "yen", 2000),
    ],
)
def test_an_amount_field_stores_yen_read_in_its_unit(app, typed, unit, yen):
    values = {"budget": typed} | ({"budget_unit": unit} if unit else {})
    assert filled(app, **values).budget.data == yen


def test_a_refused_amount_keeps_what_was_typed_and_says_why_next_to_it(app):
    form = filled(app, budget="2.000", budget_unit="thousand")
    assert form.budget.data is None
    assert form.budget.errors == [
        "「2.000」の「.」が小数点か桁区切りか分かりません。桁区切りはカンマで書いてください。"
    ]
    with app.test_request_context("/"):
        html = str(form.budget())
    assert 'value="2.000"' in html
    assert 'aria-invalid="true"' in html


def test_an_amount_field_says_back_in_words_what_it_will_store(app):
    form = filled(app, budget="2,000")
    with app.test_request_context("/"):
        html = str(form.budget())
    assert "2,000千円 (2,000,000円) で登録します" in html
    assert '<option value="thousand" selected>千円</option>' in html
    assert 'name="budget_unit"' in html
    assert 'data-amount-url="/api/amount"' in html


def test_a_stored_amount_shows_in_thousand_yen_or_in_yen_when_it_has_to(app):
    with app.test_request_context("/"):
        whole = AmountForm(formdata=None, data={"budget": 20_900_000})
        odd = AmountForm(formdata=None, data={"budget": 1_234_567})
        assert 'value="20,900"' in str(whole.budget())
        assert 'value="1,234,567"' in str(odd.budget())
        assert '<option value="yen" selected>円</option>' in str(odd.budget())


def test_zero_is_an_amount_only_where_the_field_allows_it(app):
    form = filled(app, budget="0", executed="0")
    assert form.executed.data == 0
    assert form.budget.errors == ["0より大きい金額を入力してください。"]


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2026/12/1", dt.date(2026, 12, 1)),
        ("令和8年12月1日", dt.date(2026, 12, 1)),
        ("2026-12-01", dt.date(2026, 12, 1)),
        ("R8.12.1", dt.date(2026, 12, 1)),
    ],
)
def test_a_date_field_takes_the_city_s_ways_of_writing_a_date(app, typed, day):
    assert filled(app, day=typed).day.data == day


def test_a_date_field_refuses_what_the_product_could_not_show(app):
    assert filled(app, day="1988/12/31").day.errors == [
        "回答日は平成元年 (1989年1月8日) 以降の日付で入力してください。"
    ]
    far = today_in_tokyo().year + 6
    assert "までの日付で入力してください" in filled(app, day=f"{far}/1/1").day.errors[0]
    form = filled(app, day="令和8年2月30日")
    assert form.day.errors == [
        "「令和8年2月30日」を日付として読み取れません (例: 2024/5/7、令和6年5月7日、R6.5.7)。"
    ]
    with app.test_request_context("/"):
        assert 'value="令和8年2月30日"' in str(form.day())


def test_fiscal_years_are_chosen_by_their_era_name_and_default_to_the_subject_s_year(app):
    form = filled(app)
    assert form.year.data == 2026
    labels = {choice.value: choice.label for choice in form.year.choices}
    assert labels[2026] == "令和8年度 (2026)"
    assert (min(labels), max(labels)) == (2024, 2029)
    assert filled(app, year="2027").year.data == 2027
    assert filled(app, year="2035").year.errors == ["一覧から選んでください。"]
    assert filled(app, year="令和").year.errors == ["一覧から選んでください。"]
    with app.test_request_context("/"):
        current = AmountForm(formdata=None)
        current.year.offer(range(2020, 2040))
        assert current.year.data == fiscal_year_of(today_in_tokyo())


def test_wtforms_stock_messages_are_replaced_by_plain_japanese(app):
    form = filled(app, count="たくさん", name="長すぎる名前", kind="z")
    assert form.count.errors == ["半角または全角の数字で入力してください (例: 120)。"]
    assert form.name.errors == ["3文字以内で入力してください。"]
    assert form.kind.errors == ["一覧から選んでください。"]
    assert filled(app, share="500").share.errors == ["0から100までの数を入力してください。"]


def test_every_plain_message_is_in_the_english_catalog(app):
    from babel.messages.pofile import read_po

    from tracker import PROJECT_ROOT

    with open(PROJECT_ROOT / "translations/en/LC_MESSAGES/messages.po", "rb") as file:
        catalog = read_po(file)
    missing = sorted(
        {message for message in STOCK.values() if not (catalog.get(message) and catalog[message].string)}
    )
    assert missing == []


def test_the_messages_are_english_for_an_english_page(app):
    with app.test_request_context("/?lang=en"):
        app.preprocess_request()
        form = AmountForm(formdata=MultiDict({"count": "many", "kind": "z"}))
        form.validate()
        assert form.count.errors == ["Enter a number in digits (e.g. 120)."]
        assert form.kind.errors == ["Choose one from the list."]


def test_the_amount_preview_answers_with_the_same_reader(make, login_as):
    client = login_as(make.manager())
    assert client.get("/api/amount?text=2,000").get_json() == {
        "words": "2,000千円 (2,000,000円) で登録します",
        "yen": 2_000_000,
    }
    assert client.get("/api/amount?text=2000000円&unit=thousand").get_json()["yen"] == 2_000_000
    assert client.get("/api/amount?text=2,000&unit=yen").get_json()["yen"] == 2000
    assert client.get("/api/amount?text=0&zero=1").get_json()["yen"] == 0
    assert client.get("/api/amount?text=2,00").get_json() == {
        "error": "桁区切りのカンマの位置が正しくありません (例: 2,000 または 2000)。"
    }


def test_the_amount_preview_is_for_staff_only(client):
    response = client.get("/api/amount?text=2,000")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


# --- a refused action form comes back as typed --------------------------------------------------


def event_count(session, issue) -> int:
    return session.scalar(select(func.count(HistoryEvent.id)).where(HistoryEvent.ward_issue_id == issue.id))


def test_a_refused_amount_comes_back_as_typed_with_the_reason_beside_it(make, login_as, session):
    issue = make.issue(IssueState.DECIDED)
    client = login_as(make.staff("環境局"))
    before = event_count(session, issue)
    response = client.post(
        f"/issues/{issue.id}/budget",
        data={
            "budget-fiscal_year": str(issue.fiscal_year),
            "budget-project_name": "防犯灯整備事業",
            "budget-allocated_yen": "2.000",
            "budget-allocated_yen_unit": "thousand",
            "budget-version": str(issue.version),
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    budget_form = page[page.index('id="form-budget"') : page.index("</form>", page.index('id="form-budget"'))]
    assert 'value="2.000"' in budget_form
    assert 'value="防犯灯整備事業"' in budget_form
    assert '<p class="field-error">「2.000」の「.」が小数点か桁区切りか分かりません。' in budget_form
    panel = page[page.rindex("<details", 0, page.index('id="form-budget"')) :]
    assert panel.startswith('<details class="action" open>')
    session.refresh(issue)
    assert (issue.state, issue.budget_lines, event_count(session, issue)) == (IssueState.DECIDED, [], before)


def test_a_refused_decision_says_why_inside_its_form_and_keeps_the_text(make, login_as, session):
    issue = make.issue(IssueState.CONSULTING)
    client = login_as(make.staff("環境局"))
    before = event_count(session, issue)
    response = client.post(
        f"/issues/{issue.id}/decide",
        data={
            "decide-decision": "reject",
            "decide-decision_reason": "",
            "decide-version": str(issue.version),
        },
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    start = page.index('id="form-decide"')
    decide_form = page[start : page.index("</form>", start)]
    assert (
        '<p class="field-error" role="alert">「対応しない」とする理由を入力してください。</p>' in decide_form
    )
    radio = (
        r'<input checked id="decide-decision-\d+" name="decide-decision" required type="radio" value="(\w+)">'
    )
    chosen = re.findall(radio, decide_form)
    assert chosen == ["reject"]  # the choice made is still made
    session.refresh(issue)
    assert (issue.state, issue.decision, event_count(session, issue)) == (IssueState.CONSULTING, None, before)
