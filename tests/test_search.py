"""Search (tracker/finding/search.py, /search) and similar open requests (tracker/finding/similar.py), on the
database the run uses: FTS5 trigram on SQLite, pg_trgm on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from tracker import workflow
from tracker.effects import intake
from tracker.extensions import db
from tracker.finding import queries, search, similar
from tracker.models import ServiceRequest, WardIssue
from tracker.safeguards import personal_data
from tracker.states import IssueState, RequestState
from tracker.workflow import WorkflowError

from .factories import TODAY

ANSWER = {"answer_kind": "resolved", "answer_text": "対応しました", "answered_on": TODAY}


def found(session, model, q: str, where=None) -> set[int]:
    statement = select(model.id).where(search.matching(model, q))
    if where is not None:
        statement = statement.where(where)
    return set(session.execute(statement).scalars())


# --- normalising -----------------------------------------------------------------------------


def test_normalize_folds_width_case_and_spaces():
    assert search.normalize("ｶﾞｲﾄｳ") == "ガイトウ"
    assert search.normalize("ＬＥＤ　Ｌight\n\t２号") == "led light 2号"
    assert search.normalize(None) == "" and search.normalize("  ") == ""


def test_terms_split_on_full_width_spaces_drop_repeats_and_are_capped():
    assert search.terms("街灯　防犯灯  街灯 ") == ["街灯", "防犯灯"]
    assert search.terms("") == [] and search.terms("　 ") == []
    assert len(search.terms(" ".join(f"w{i}" for i in range(20)))) == search.MAX_TERMS
    assert search.matching(ServiceRequest, "　") is None


# --- finding ---------------------------------------------------------------------------------


@pytest.fixture
def lamp(make):
    return make.request(
        title="防犯灯と街灯の設置",
        description="通学路の安全が心配です。ＬＥＤ照明を希望",
        location_text="ｶﾞｲﾄｳ通り 3丁目",
        organisation="大江町内自治会",
    )


@pytest.mark.parametrize("word", ["街灯", "防犯灯", "通学路の安全", "通学路の安全が心配", "灯"])
def test_japanese_words_of_two_three_and_more_characters_are_found(session, lamp, make, word):
    other = make.request(title="道路の陥没", description="穴があいている")
    hits = found(session, ServiceRequest, word)
    assert lamp.id in hits and other.id not in hits


def test_half_width_katakana_and_full_width_alphanumerics_match_both_ways(session, lamp, make):
    assert lamp.id in found(session, ServiceRequest, "ガイトウ")  # stored half-width, asked full
    kana = make.request(title="ガイトウの修理", description="")
    assert kana.id in found(session, ServiceRequest, "ｶﾞｲﾄｳ")  # stored full-width, asked half
    assert lamp.id in found(session, ServiceRequest, "led")  # stored ＬＥＤ
    latin = make.request(title="LED照明の交換", description="")
    assert latin.id in found(session, ServiceRequest, "ＬＥＤ")
    assert latin.id in found(session, ServiceRequest, "Led照明")


def test_several_words_must_all_match(session, lamp, make):
    park = make.request(title="公園の街灯が暗い", description="")
    assert found(session, ServiceRequest, "街灯　公園") == {park.id}
    assert {lamp.id, park.id} <= found(session, ServiceRequest, "街灯")
    assert found(session, ServiceRequest, "街灯 存在しない語") == set()


def test_place_organisation_and_reference_number_are_searched(session, lamp):
    assert lamp.id in found(session, ServiceRequest, "3丁目 大江町内")
    assert found(session, ServiceRequest, lamp.reference) == {lamp.id}
    assert found(session, ServiceRequest, lamp.reference.lower()) == {lamp.id}


def test_like_wildcards_in_the_query_are_literal(session, make):
    percent = make.request(title="達成率100%の報告", description="")
    plain = make.request(title="達成率1000の報告", description="")
    underscore = make.request(title="file_a の件", description="")
    backslash = make.request(title="c:\\temp の件", description="")
    assert found(session, ServiceRequest, "100%") == {percent.id}
    assert found(session, ServiceRequest, "%") == {percent.id}
    assert plain.id not in found(session, ServiceRequest, "率1_0")
    assert found(session, ServiceRequest, "_") == {underscore.id}
    assert found(session, ServiceRequest, "e_a") == {underscore.id}
    assert found(session, ServiceRequest, "\\") == {backslash.id}
    assert found(session, ServiceRequest, ":\\t") == {backslash.id}
    assert found(session, ServiceRequest, '"') == set()  # a quote cannot break the FTS query
    assert found(session, ServiceRequest, '達成"率') == set()


def test_issues_are_searched_by_title_situation_proposal_and_reference(session, make):
    issue = make.issue(
        IssueState.DRAFT
    )  # 公園の街灯の老朽化 / 校区内の街灯の多くが老朽化している / LED街灯に更新する
    assert issue.id in found(session, WardIssue, "老朽化 led街灯")
    assert found(session, WardIssue, issue.reference) == {issue.id}
    assert issue.id not in found(session, WardIssue, "大江町内自治会")


def test_every_write_keeps_search_text_current(session, lamp):
    lamp.title = "カーブミラーが曲がっている"
    session.commit()
    assert lamp.id in found(session, ServiceRequest, "カーブミラー")
    assert lamp.id not in found(session, ServiceRequest, "防犯灯")
    assert lamp.search_text == search.search_text_of(lamp)


def test_personal_data_is_never_searchable_and_erasure_keeps_search_text_right(session, make):
    request = make.request(title="側溝のふた", description="")  # requester 熊本 太郎, 096-000-0000
    assert "太郎" not in request.search_text and "096" not in request.search_text
    assert request.id not in found(session, ServiceRequest, "太郎")
    assert request.id not in found(session, ServiceRequest, "096-000-0000")
    before = request.search_text
    workflow.apply(session, make.liaison(), request, "answer", ANSWER, today=TODAY)
    assert personal_data.erase(session, request, 1095) is not None
    session.commit()
    session.refresh(request)
    assert request.requester_name == "" and request.search_text == before
    assert request.search_text == search.search_text_of(request)
    assert request.id in found(session, ServiceRequest, "側溝")


def test_search_text_column_matches_normalize_for_every_row(session, lamp, make):
    make.issue(IssueState.DRAFT)
    for row in session.execute(select(ServiceRequest)).scalars():
        assert row.search_text == search.search_text_of(row)
    for row in session.execute(select(WardIssue)).scalars():
        assert row.search_text == search.search_text_of(row)


def test_sqlite_full_text_index_follows_the_table(session, lamp, make):
    if session.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's FTS5 tables only")
    triggers = set(
        session.execute(sa.text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars()
    )
    for table in ("requests", "ward_issues"):
        assert {f"{table}_fts_ai", f"{table}_fts_ad", f"{table}_fts_au"} <= triggers
        session.execute(sa.text(f"INSERT INTO {table}_fts({table}_fts) VALUES ('integrity-check')"))
    fts_count = session.execute(sa.text("SELECT count(*) FROM requests_fts")).scalar_one()
    assert fts_count == session.execute(select(func.count(ServiceRequest.id))).scalar_one()


def test_postgresql_uses_a_trigram_index_for_japanese(session, lamp):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")
    fatal, warnings = search.database_problems(session.connection())
    assert fatal == [] and warnings == []
    assert session.execute(sa.text("SELECT cardinality(show_trgm('防犯灯'))")).scalar() > 0
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(
        session.execute(
            sa.text("EXPLAIN SELECT id FROM requests WHERE search_text LIKE :p"), {"p": "%防犯灯%"}
        ).scalars()
    )
    assert "ix_requests_search_text_trgm" in plan


# --- short words (1 and 2 characters) --------------------------------------------------------

SHORT_WORD_TEXTS = [
    ("鉄塔の近くの街灯が点かない", "夜は真っ暗で危険です。"),
    ("公園の遊具が壊れている", "ﾌﾞﾗﾝｺのくさりが外れそう"),  # half-width katakana
    ("ごみ集積所の看板", "第２・第４水曜日は資源ごみ"),  # full-width digits
    ("カーブミラーの角度", "ＬＥＤ灯　２基と、ミラー1枚"),  # full-width letters and space
    ("農道の草刈り", "用水路沿い、約100m"),
    ("避難所の案内板", "防災訓練(年2回)で気づいた"),
    ("高齢者の見守り", "独り暮らしの方の安否確認"),
    ("街路樹の落ち葉", "側溝が詰まる。\t% _ も字"),
]


def _short_terms(texts: list[str]) -> list[str]:
    """Every 1- and 2-character gram of the texts (no space), and some found nowhere."""
    grams = {text[i : i + n] for text in texts for n in (1, 2) for i in range(len(text) - n + 1)}
    return [*sorted(g for g in grams if " " not in g), "鉄骨", "塔鉄", "ぬ", "9", "ab"]


def test_one_and_two_character_words_find_exactly_what_like_finds(session, make):
    made = [make.request(title=title, description=body) for title, body in SHORT_WORD_TEXTS]
    made.append(make.issue(IssueState.DRAFT).requests[0])
    ids = [row.id for row in made]
    texts = {row.id: row.search_text for row in made}
    ours = ServiceRequest.id.in_(ids)
    for term in _short_terms(list(texts.values())):
        expected = {ident for ident, text in texts.items() if term in text}
        like = ServiceRequest.search_text.like(search.like_pattern(term), escape="\\")
        assert found(session, ServiceRequest, term, ours) == expected, term
        assert set(session.execute(select(ServiceRequest.id).where(ours, like)).scalars()) == expected, term
    # asked in another width: the query is normalised as the text was
    assert (
        found(session, ServiceRequest, "ﾌﾞﾗ", ours)
        == found(session, ServiceRequest, "ブラ", ours)
        == {made[1].id}
    )
    assert found(session, ServiceRequest, "２・", ours) == {made[2].id}
    assert (
        found(session, ServiceRequest, "ＬＥ", ours)
        == found(session, ServiceRequest, "le", ours)
        == {made[3].id}
    )
    assert found(session, ServiceRequest, "鉄塔 灯", ours) == {made[0].id}
    assert found(session, ServiceRequest, "灯 ミラー", ours) == {made[3].id}


def test_short_words_find_issues_too(session, make):
    issue = make.issue(IssueState.DRAFT, title="鉄塔の老朽化", situation="校区の鉄塔")
    assert found(session, WardIssue, "鉄塔") == {issue.id}
    assert issue.id in found(session, WardIssue, "塔") and issue.id not in found(session, WardIssue, "塔鉄")


def _postgresql_only(session):
    if session.get_bind().dialect.name != "postgresql":
        pytest.skip("PostgreSQL only")


def test_each_word_is_written_into_the_sql_so_the_planner_sees_it(session, make):
    """Not a parameter: a statement planned once for any word (PostgreSQL's generic plan after
    five runs) cannot tell a rare word from a frequent one."""
    quoted = make.request(title="o'clock の件", description="")
    assert found(session, ServiceRequest, "o'c") == found(session, ServiceRequest, "'") == {quoted.id}
    _postgresql_only(session)  # SQLite's FTS5 phrase stays a parameter: its planner does not guess
    for q in ("鉄塔", "灯", "防犯灯", "o'c", "'"):
        compiled = (
            select(ServiceRequest.id)
            .where(search.matching(ServiceRequest, q))
            .compile(dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True})
        )
        assert not any(q in str(value) for value in compiled.params.values()), (q, compiled.params)
        assert q.replace("'", "''") in str(compiled), q


def _plan(session, statement) -> str:
    compiled = statement.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    return "\n".join(session.execute(sa.text(f"EXPLAIN {compiled}")).scalars())


def test_postgresql_grams_are_every_character_and_neighbouring_pair_but_spaces(session):
    _postgresql_only(session)
    for title, body in SHORT_WORD_TEXTS:
        text = search.normalize(f"{title} {body}")
        got = session.execute(sa.text("SELECT search_grams(:t)"), {"t": text}).scalar_one()
        expected = {text[i : i + n] for n in (1, 2) for i in range(len(text) - n + 1)}
        assert set(got) == {g for g in expected if " " not in g}, text
    assert session.execute(sa.text("SELECT search_grams('')")).scalar_one() == []
    assert session.execute(sa.text("SELECT search_grams('灯')")).scalar_one() == ["灯"]


def test_postgresql_finds_two_character_words_through_the_grams_index(session, lamp, make):
    _postgresql_only(session)
    issue = make.issue(IssueState.DRAFT)
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    for model, index in (
        (ServiceRequest, "ix_requests_search_grams"),
        (WardIssue, "ix_ward_issues_search_grams"),
    ):
        for term in ("街灯", "灯"):
            plan = _plan(session, select(model.id).where(search.matching(model, term)))
            assert index in plan and "Seq Scan" not in plan, plan
    assert issue.id in found(session, WardIssue, "街灯")
    plan = _plan(session, select(ServiceRequest.id).where(search.matching(ServiceRequest, "防犯灯")))
    assert "ix_requests_search_text_trgm" in plan and "ix_requests_search_grams" not in plan


def test_postgresql_grams_index_follows_an_update_of_the_title(session, lamp):
    _postgresql_only(session)
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    assert lamp.id in found(session, ServiceRequest, "街灯")
    lamp.title = "鉄塔が傾いている"
    lamp.description = ""
    session.commit()
    assert "ix_requests_search_grams" in _plan(
        session, select(ServiceRequest.id).where(search.matching(ServiceRequest, "鉄塔"))
    )
    assert lamp.id in found(session, ServiceRequest, "鉄塔")
    assert lamp.id not in found(session, ServiceRequest, "街灯")
    indexed = session.execute(
        sa.text("SELECT search_grams(search_text) @> ARRAY['傾い'] FROM requests WHERE id = :id"),
        {"id": lamp.id},
    ).scalar_one()
    assert indexed is True


# --- the start-up check ----------------------------------------------------------------------


@pytest.mark.parametrize("ctype", ["C.UTF-8", "en_US.UTF-8", "ja_JP.utf8", "ja_JP.UTF-8", "C.utf8"])
def test_utf8_ctypes_are_accepted(ctype):
    assert search.ctype_problem(ctype) is None


@pytest.mark.parametrize("ctype", ["C", "POSIX", "ja_JP.eucJP", "", None])
def test_other_ctypes_are_refused_with_a_clear_message(ctype):
    assert "UTF-8" in search.ctype_problem(ctype)


def test_production_refuses_to_start_and_other_envs_warn(app, monkeypatch, caplog):
    monkeypatch.setattr(search, "database_problems", lambda c: ([search.ctype_problem("C")], ["no pg_trgm"]))
    monkeypatch.setattr(search.log, "disabled", False)  # Alembic's fileConfig turns it off in tests
    with app.app_context():
        with pytest.raises(RuntimeError, match=r"Refusing to start.*LC_CTYPE is 'C'"):
            search.check_database(db.engine, production=True)
        with caplog.at_level(logging.WARNING, logger="tracker.finding.search"):
            search.check_database(db.engine, production=False)
    assert "LC_CTYPE is 'C'" in caplog.text and "no pg_trgm" in caplog.text


def test_the_test_database_passes_the_check(app):
    with app.app_context(), db.engine.connect() as connection:
        assert search.database_problems(connection)[0] == []


# --- /search ---------------------------------------------------------------------------------


def test_search_page_shows_matches_of_the_users_ward_only(make, login_as):
    own = make.request(title="防犯灯が切れている", description="")
    other = make.request(ward="東区", title="防犯灯が切れている (東区)", description="")
    page = login_as(make.liaison()).get("/search?q=防犯灯").get_data(as_text=True)
    assert own.reference in page and other.reference not in page
    page = login_as(make.manager("東区")).get("/search?q=防犯灯").get_data(as_text=True)
    assert other.reference in page and own.reference not in page
    page = login_as(make.admin()).get("/search?q=防犯灯").get_data(as_text=True)
    assert own.reference in page and other.reference in page


def test_bureau_staff_find_only_issues_sent_to_them_and_their_requests(make, login_as):
    draft = make.issue(IssueState.REGISTERED)  # not sent yet
    sent = make.issue(IssueState.CONSULTING)
    other_bureau = make.issue(IssueState.CONSULTING, lead="消防局")
    loose = make.request(title="公園の街灯の老朽化について", description="")
    page = login_as(make.staff("環境局")).get("/search?q=街灯").get_data(as_text=True)
    assert sent.reference in page and sent.requests[0].reference in page
    assert draft.reference not in page and draft.requests[0].reference not in page
    assert other_bureau.reference not in page and loose.reference not in page
    assert "熊本 太郎" not in page and "096-000-0000" not in page


def test_empty_and_blank_queries_show_no_results(make, login_as):
    request = make.request()
    client = login_as(make.liaison())
    for q in ("", "　 "):
        response = client.get(f"/search?q={q}")
        assert response.status_code == 200
        text = response.get_data(as_text=True)
        assert "<h1>検索</h1>" in text and 'name="q" value=""' in text, q  # the form, and nothing else
        assert request.reference not in text and '<table class="list">' not in text, q
        assert "該当する要望はありません" not in text, q


def test_search_page_runs_a_fixed_number_of_queries(make, login_as, count_queries):
    liaison, manager, staff = make.liaison(), make.manager(), make.staff("環境局")
    client = login_as(make.admin())

    def add_rows(count):
        for number in range(count):
            make.request(liaison, title=f"街灯の修理 {number}")
            make.issue(IssueState.BUDGETED, manager=manager, staff=staff)

    def queries_for_page():
        count_queries.clear()
        response = client.get("/search?q=街灯")
        assert response.status_code == 200 and "街灯の修理 1" in response.get_data(as_text=True)
        return len(count_queries)

    add_rows(2)
    few = queries_for_page()
    add_rows(8)
    assert queries_for_page() == few


@pytest.mark.parametrize("word", ["鉄塔", "鉄塔の点検"])
def test_search_page_runs_the_same_queries_whether_a_word_matches_or_not(make, login_as, count_queries, word):
    """A rare word matches nothing on a small database and a page of each kind on a large one:
    the page may draw more rows, never run more statements (issues with bureaus and budget lines)."""
    liaison, manager, staff = make.liaison(), make.manager(), make.staff("環境局")
    client = login_as(make.admin())

    def queries_for_page():
        count_queries.clear()
        response = client.get("/search", query_string={"q": word})
        assert response.status_code == 200
        return len(count_queries), response.get_data(as_text=True)

    nothing, text = queries_for_page()
    assert "該当する要望はありません" in text and "該当する区重要課題はありません" in text
    for number in range(3):
        make.request(liaison, title=f"鉄塔の点検 {number}")
        make.issue(IssueState.BUDGETED, title=f"鉄塔の点検 課題{number}", manager=manager, staff=staff)
    matches, text = queries_for_page()
    assert "鉄塔の点検 1" in text and "鉄塔の点検 課題1" in text and "千円" in text
    assert matches == nothing


@pytest.mark.parametrize("word", ["鉄塔", "鉄塔の点検"])
@pytest.mark.parametrize("limit", [1, 3, 5, 8, 20])
def test_the_global_search_gives_exactly_the_newest_matches_across_its_recent_window(
    make, session, limit, word
):
    """``found_requests`` looks in the last ``RECENT_DAYS`` first, then in the older requests (a
    short word), or in one query (a long one): either way exactly the newest ``limit`` by
    (received, id), ties on the boundary day included."""
    liaison = make.liaison()
    cutoff = TODAY - dt.timedelta(days=queries.RECENT_DAYS)
    days = [
        0,
        3,
        queries.RECENT_DAYS - 1,
        queries.RECENT_DAYS,
        queries.RECENT_DAYS,
        queries.RECENT_DAYS + 1,
        400,
    ]
    for number, days_ago in enumerate(days):
        make.request(liaison, title=f"鉄塔の点検 {number}", received_on=TODAY - dt.timedelta(days=days_ago))
        make.request(liaison, title=f"道路の補修 {number}", received_on=TODAY - dt.timedelta(days=days_ago))
    admin = make.admin()
    expected = session.scalars(
        select(ServiceRequest.id)
        .where(ServiceRequest.search_text.contains(word))
        .order_by(ServiceRequest.received_on.desc(), ServiceRequest.id.desc())
        .limit(limit)
    ).all()
    got = queries.found_requests(session, admin, word, limit, today=TODAY)
    assert [request.id for request in got] == expected
    assert len(got) == min(limit, len(days))
    assert any(r.received_on >= cutoff for r in got) and (
        limit <= 5 or any(r.received_on < cutoff for r in got)
    )


# --- similar open requests -------------------------------------------------------------------


def test_scores():
    assert similar.score("街灯が切れている", "", "公園の街灯が切れています", "") >= similar.THRESHOLD
    assert similar.score("街灯が切れている", "", "道路の陥没", "") < similar.THRESHOLD
    assert similar.score("街灯", "", "街灯", "") == 1.0
    assert similar.grams("ａ") == {"a"} and similar.grams("") == set()


def test_a_near_duplicate_is_suggested_but_not_answered_ones_nor_other_wards(session, make):
    liaison = make.liaison()
    near = make.request(liaison, title="公園の街灯が切れています", description="")
    answered = make.request(liaison, title="公園の街灯が切れている", description="")
    workflow.apply(session, liaison, answered, "answer", ANSWER, today=TODAY)
    withdrawn = make.request(liaison, title="公園の街灯が切れている!", description="")
    workflow.apply(session, liaison, withdrawn, "withdraw", {"comment": "重複"}, today=TODAY)
    other_ward = make.request(ward="東区", title="公園の街灯が切れている", description="")
    unrelated = make.request(liaison, title="道路の陥没", description="")
    session.commit()
    found_ids = [
        s.id for s in similar.similar_open_requests(session, liaison.ward_id, "街灯が切れている", "")
    ]
    assert near.id in found_ids
    assert not {answered.id, withdrawn.id, other_ward.id, unrelated.id} & set(found_ids)
    assert similar.similar_open_requests(session, liaison.ward_id, "街", "") == []


def test_older_open_requests_are_found_through_the_index(session, make, monkeypatch):
    liaison = make.liaison()
    old = make.request(liaison, title="防犯灯の球切れ", description="")
    for number in range(3):
        make.request(liaison, title=f"別件 {number}", description="")
    monkeypatch.setattr(similar, "RECENT_CANDIDATES", 2)  # the old one is past the recent ones
    found_ids = [s.id for s in similar.similar_open_requests(session, liaison.ward_id, "防犯灯が球切れ", "")]
    assert found_ids == [old.id]


def _new_request_form(make, **extra):
    return {
        "title": "公園の街灯が切れている",
        "description": "夜が暗い",
        "category_id": make.category().id,
        "source": "counter",
        "received_on": "2024-06-03",
        **extra,
    }


def _count(session) -> int:
    return session.execute(select(func.count(ServiceRequest.id))).scalar_one()


def test_without_javascript_the_form_comes_back_with_suggestions_and_saves_nothing(session, make, login_as):
    liaison = make.liaison()
    original = make.request(liaison, title="公園の街灯が切れています")
    client = login_as(liaison)
    before = _count(session)
    response = client.post("/requests/new", data=_new_request_form(make), content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert original.reference in page
    assert "この要望に関連付けて登録" in page and "別の要望として登録" in page
    assert 'value="公園の街灯が切れている"' in page  # what was typed is kept
    assert _count(session) == before

    separate = client.post(
        "/requests/new",
        data=_new_request_form(make, similar_choice="separate"),
        content_type="multipart/form-data",
    )
    assert separate.status_code == 302
    created = session.execute(select(ServiceRequest).order_by(ServiceRequest.id.desc())).scalars().first()
    assert created.title == "公園の街灯が切れている" and created.duplicate_of_id is None
    assert _count(session) == before + 1


def test_linking_sets_duplicate_of_and_shows_on_both_detail_pages(session, make, login_as):
    liaison = make.liaison()
    original = make.request(liaison, title="公園の街灯が切れています")
    client = login_as(liaison)
    response = client.post(
        "/requests/new",
        data=_new_request_form(make, duplicate_of=str(original.id)),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    created = session.execute(select(ServiceRequest).order_by(ServiceRequest.id.desc())).scalars().first()
    assert created.duplicate_of_id == original.id
    assert created.version == 1  # linked as it is logged: one write, one 'create' event
    assert [(e.action, e.data.get("linked_to")) for e in created.events] == [("create", original.reference)]
    new_page = client.get(f"/requests/{created.id}").get_data(as_text=True)
    assert "関連する要望" in new_page and original.reference in new_page
    old_page = client.get(f"/requests/{original.id}").get_data(as_text=True)
    assert "関連する要望" in old_page and created.reference in old_page


def test_a_request_of_another_ward_cannot_be_linked(session, make, login_as):
    other = make.request(ward="東区", title="公園の街灯が切れています")
    client = login_as(make.liaison())
    before = _count(session)
    response = client.post(
        "/requests/new",
        data=_new_request_form(make, duplicate_of=str(other.id)),
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and "関連付ける要望が見つかりません" in response.get_data(as_text=True)
    assert _count(session) == before


def test_the_intake_service_itself_refuses_a_link_to_another_ward(session, make):
    other = make.request(ward="東区")
    liaison = make.liaison()
    before = _count(session)
    fields = {"title": "街灯", "category_id": other.category_id, "source": "phone"}
    with pytest.raises(WorkflowError, match="同じ区の要望だけ"):
        intake.log_request(
            session,
            liaison,
            fields,
            photo_dir="/nonexistent",
            photo_max_bytes=1,
            photo_max_count=0,
            answer_due_days=14,
            today=TODAY,
            duplicate_of=other,
        )
    assert _count(session) == before


def test_no_suggestion_step_without_a_real_match(session, make, login_as):
    liaison = make.liaison()
    make.request(liaison, title="道路の陥没")
    response = login_as(liaison).post(
        "/requests/new", data=_new_request_form(make), content_type="multipart/form-data"
    )
    assert response.status_code == 302


def test_suggestions_while_typing_are_an_html_fragment_of_the_own_ward(make, login_as):
    liaison = make.liaison()
    own = make.request(liaison, title="公園の街灯が切れています")
    other = make.request(ward="東区", title="公園の街灯が切れています")
    client = login_as(liaison)
    response = client.get("/requests/similar?title=街灯が切れている")
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert own.reference in fragment and other.reference not in fragment
    assert "<html" not in fragment and "この要望に関連付けて登録" in fragment
    assert client.get("/requests/similar?title=全く別の話題").get_data(as_text=True).strip() == ""
    assert login_as(make.staff()).get("/requests/similar?title=街灯").status_code == 403


def test_new_request_page_loads_the_suggestion_script(make, login_as):
    page = login_as(make.liaison()).get("/requests/new").get_data(as_text=True)
    assert "js/similar.js" in page and 'id="similar-requests"' in page


def test_answered_state_is_not_open():
    assert RequestState.ANSWERED not in similar.OPEN_REQUEST_STATES


def test_imported_requests_are_searchable(make, session, login_as):
    from .test_import import import_file, requests_of, row, xlsx

    liaison = make.liaison()
    batch = import_file(login_as(liaison), session, xlsx([row(件名="ｶﾞｲﾄｳの球切れ（ＬＥＤ）")]))
    [imported] = requests_of(session, liaison.center)
    assert batch.imported_count == 1
    assert imported.search_text == search.search_text_of(imported)
    assert "太郎" not in imported.search_text
    assert found(session, ServiceRequest, "ガイトウ led") == {imported.id}
